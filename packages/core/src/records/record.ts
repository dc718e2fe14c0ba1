import 'reflect-metadata';
import { CoreError } from '../errors/index.js';
import { validateSync, type ValidationError } from 'class-validator';

const ELEMENT_TYPE = Symbol.for('stream-app:element-type');

/** A concrete Record class (`Order`), as topics and codecs take it. */
export interface RecordClass<T extends Record = Record> {
  new (): T;
  readonly name: string;
  readonly prototype: T;
  fromPlain(plain: unknown, options?: { validate?: boolean }): T;
}
type ElementType = () => RecordClass | DateConstructor | BigIntConstructor;

/**
 * The element type of an array field (`@arrayOf(() => LineItem) items!: LineItem[]`): TypeScript's
 * metadata only says "Array".
 */
export function arrayOf(type: ElementType): PropertyDecorator {
  return (target, property) => Reflect.defineMetadata(ELEMENT_TYPE, type, target, property);
}

/** Declares a field that has no validation rule, so that its declared type is still known (e.g. a bigint). */
export function field(): PropertyDecorator {
  return () => {};
}

/**
 * A typed message body, like Faust's `Record`: declare fields with class-validator rules and
 * decode plain objects (parsed JSON) into instances. Fields typed as another Record, `Date` or
 * `bigint` are converted by their declared type; nothing else is coerced ("12" stays a string and
 * fails `@IsNumber()`), and every rule is checked unless `validate: false`.
 */
export abstract class Record {
  static fromPlain<T extends Record>(this: new () => T, plain: unknown, options: { validate?: boolean } = {}): T {
    const instance = build(this as RecordClass<T>, plain, this.name);
    if (options.validate !== false) {
      const errors = validateSync(instance, { forbidUnknownValues: false });
      if (errors.length > 0) throw invalid(this.name, errors);
    }
    return instance;
  }

  /** A plain object for JSON: Dates as ISO strings, bigints as strings, nested records as objects. */
  toPlain(): { [key: string]: unknown } {
    return toPlainValue(this) as { [key: string]: unknown };
  }

  toJSON() {
    return this.toPlain();
  }
}

function build<T extends Record>(type: RecordClass<T>, plain: unknown, path: string): T {
  if (plain === null || typeof plain !== 'object' || Array.isArray(plain)) {
    throw new CoreError('STREAM_APP_ERR_RECORD_INVALID', `${path} must be an object, got ${describe(plain)}`, {
      details: { path },
    });
  }
  const instance = new type();
  for (const [key, value] of Object.entries(plain as object)) {
    // JSON.parse makes "__proto__" an own key, and assigning it would replace the instance's prototype.
    if (key === '__proto__') {
      throw new CoreError('STREAM_APP_ERR_RECORD_INVALID', `${path}.__proto__ is not allowed as a field name`, {
        details: { path: `${path}.__proto__` },
      });
    }
    const declared = Reflect.getMetadata('design:type', type.prototype, key) as unknown;
    const element = Reflect.getMetadata(ELEMENT_TYPE, type.prototype, key) as ElementType | undefined;
    (instance as unknown as { [key: string]: unknown })[key] = convert(value, declared, element, `${path}.${key}`);
  }
  return instance;
}

function convert(value: unknown, declared: unknown, element: ElementType | undefined, path: string): unknown {
  if (value === null || value === undefined) return value;
  if (declared === Array && element && Array.isArray(value)) {
    const type = element();
    return value.map((item, index) => convert(item, type, undefined, `${path}[${index}]`));
  }
  if (declared === Date) {
    if (typeof value !== 'string' && typeof value !== 'number') return value; // left to @IsDate()
    const date = new Date(value);
    if (Number.isNaN(date.getTime())) {
      throw new CoreError('STREAM_APP_ERR_RECORD_INVALID', `${path} is not a valid date`, { details: { path } });
    }
    return date;
  }
  if (declared === BigInt) {
    if (typeof value === 'bigint') return value;
    if (
      (typeof value === 'string' && /^-?\d+$/.test(value)) ||
      (typeof value === 'number' && Number.isSafeInteger(value))
    ) {
      return BigInt(value);
    }
    throw new CoreError(
      'STREAM_APP_ERR_RECORD_INVALID',
      `${path} must be an integer (a number or a string of digits), got ${describe(value)}`,
      { details: { path } },
    );
  }
  if (typeof declared === 'function' && declared.prototype instanceof Record) {
    return build(declared as RecordClass, value, path);
  }
  return value;
}

function toPlainValue(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'bigint') return value.toString();
  if (Array.isArray(value)) return value.map(toPlainValue);
  if (value instanceof Record) {
    return Object.fromEntries(Object.entries(value).map(([key, field]) => [key, toPlainValue(field)]));
  }
  return value;
}

function invalid(name: string, errors: ValidationError[]): CoreError {
  const problems = flatten(errors, name);
  return new CoreError(
    'STREAM_APP_ERR_RECORD_INVALID',
    `${name} is invalid: ${problems.map((p) => p.message).join('; ')}`,
    {
      details: { record: name, problems },
    },
  );
}

function flatten(errors: ValidationError[], path: string): Array<{ path: string; message: string }> {
  return errors.flatMap((error) => {
    const here = `${path}.${error.property}`;
    const own = Object.values(error.constraints ?? {}).map((message) => ({
      path: here,
      message: `${here}: ${message}`,
    }));
    return [...own, ...flatten(error.children ?? [], here)];
  });
}

/** The kind of a value, never the value: payloads may hold personal data or secrets. */
function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}
