/** How the console writes times (local, with the zone named) and copies text. */

const timeOptions: Intl.DateTimeFormatOptions = {
  year: "numeric",
  month: "2-digit",
  day: "2-digit",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
  fractionalSecondDigits: 3,
  hour12: false,
  timeZoneName: "short",
};

/** The browser's locale, unless it is one Intl refuses (a POSIX locale such as `en-US@posix`). */
function localFormat(): Intl.DateTimeFormat {
  try {
    return new Intl.DateTimeFormat(undefined, timeOptions);
  } catch {
    return new Intl.DateTimeFormat("en-US", timeOptions);
  }
}

const timeFormat = localFormat();

export const timeZone = timeFormat.resolvedOptions().timeZone;

export function formatTime(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : timeFormat.format(date);
}

export async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}

const countFormat = (() => {
  try {
    return new Intl.NumberFormat();
  } catch {
    return new Intl.NumberFormat("en-US");
  }
})();

/** A count with the locale's grouping: 1,234,567. */
export function formatCount(count: number): string {
  return countFormat.format(count);
}

const byteUnits = ["B", "kB", "MB", "GB", "TB"] as const;

/**
 * Bytes in decimal units, as disks and bills count them: `formatBytes(1_530_000)` is "1.5 MB".
 * One decimal under 10 of a unit, none above, so a column of them reads at a glance.
 */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < byteUnits.length - 1) {
    value /= 1000;
    unit++;
  }
  const digits = unit === 0 || value >= 10 ? 0 : 1;
  return `${value.toFixed(digits)} ${byteUnits[unit]}`;
}
