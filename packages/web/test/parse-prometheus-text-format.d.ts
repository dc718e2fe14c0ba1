// The parser ships no types: the shape it returns (a family per metric name).
declare module 'parse-prometheus-text-format' {
  interface Family {
    name: string;
    help: string;
    type: 'COUNTER' | 'GAUGE' | 'HISTOGRAM' | 'SUMMARY' | 'UNTYPED';
    metrics: Array<
      | { value: string; labels?: { [name: string]: string } }
      | { buckets: { [le: string]: string }; count: string; sum: string; labels?: { [name: string]: string } }
    >;
  }
  export default function parsePrometheusTextFormat(text: string): Family[];
}
