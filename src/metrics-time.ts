/** Common `metrics.maxDataPoints` values, in minutes (BullMQ's `MetricsTime`). */
export enum MetricsTime {
  ONE_MINUTE = 1,
  FIVE_MINUTES = 5,
  FIFTEEN_MINUTES = 15,
  THIRTY_MINUTES = 30,
  ONE_HOUR = 60,
  ONE_WEEK = 60 * 24 * 7,
  TWO_WEEKS = 60 * 24 * 7 * 2,
  ONE_MONTH = 60 * 24 * 7 * 2 * 4,
}
