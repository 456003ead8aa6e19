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
