import { Record } from '@stream-app/core';
import { IsNotEmpty, IsNumber, IsString, Max, Min } from 'class-validator';

/** One temperature reading from one sensor. */
export class Reading extends Record {
  @IsString() @IsNotEmpty() sensorId!: string;
  // A thermometer outside this range is broken, not hot: such a reading goes to the dead-letter topic.
  @IsNumber() @Min(-90) @Max(150) celsius!: number;
}
