import { describe, expect, it } from 'vitest';
import { afterQuietHours } from './quiet-hours';

describe('quiet hours (21:00–09:00 on the business clock)', () => {
  const madrid = 'Europe/Madrid'; // UTC+1 in January

  it('lets a daytime send leave at once', () => {
    const noon = new Date('2027-01-12T11:00:00Z'); // 12:00 in Madrid
    expect(afterQuietHours(noon, madrid)).toEqual(noon);
    expect(afterQuietHours(new Date('2027-01-12T08:00:00Z'), madrid)).toEqual(
      new Date('2027-01-12T08:00:00Z'),
    );
  });

  it('holds an evening send until 09:00 the next local day', () => {
    // 22:30 in Madrid on the 12th, 21:30 UTC.
    expect(afterQuietHours(new Date('2027-01-12T21:30:00Z'), madrid)).toEqual(
      new Date('2027-01-13T08:00:00Z'),
    );
    // 23:30 UTC on the 12th is already 00:30 on the 13th in Madrid: 09:00 that same local day.
    expect(afterQuietHours(new Date('2027-01-12T23:30:00Z'), madrid)).toEqual(
      new Date('2027-01-13T08:00:00Z'),
    );
  });

  it('reads the business’s clock, not UTC', () => {
    // 21:30 UTC is 06:30 the next day in Tokyo: held until 09:00 there (00:00 UTC).
    expect(afterQuietHours(new Date('2027-01-12T21:30:00Z'), 'Asia/Tokyo')).toEqual(
      new Date('2027-01-13T00:00:00Z'),
    );
  });
});
