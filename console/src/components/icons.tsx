import type { ReactNode } from 'react';

/** Small stroke icons (24×24 grid), decorative: the text beside them names the thing. */
const PATHS = {
  overview: <path d="M4 13h6V4H4zM14 20h6v-9h-6zM4 20h6v-4H4zM14 4v4h6V4z" />,
  providers: <path d="M4 6h16M4 12h16M4 18h16M7 6v0M7 12v0M7 18v0" />,
  clients: (
    <path d="M16 19v-1a4 4 0 0 0-4-4H7a4 4 0 0 0-4 4v1M9.5 10a3 3 0 1 0 0-6 3 3 0 0 0 0 6M21 19v-1a4 4 0 0 0-3-3.9M16 4.1a3 3 0 0 1 0 5.8" />
  ),
  budgets: (
    <path d="M12 3v18M17 6.5C17 4.6 14.8 4 12 4S7 5 7 7.5 9.5 10.5 12 11s5 1.5 5 4-2.2 3.5-5 3.5-5-.8-5-2.5" />
  ),
  usage: <path d="M4 20V10M10 20V4M16 20v-7M22 20H2" />,
  jobs: <path d="M4 7h16M4 12h10M4 17h6M18 14l2 2 3-4" />,
  audit: <path d="M9 4h6l4 4v12H5V4zM9 12h6M9 16h6M9 8h2" />,
  configuration: (
    <path d="M12 15a3 3 0 1 0 0-6 3 3 0 0 0 0 6M19.4 15a1.7 1.7 0 0 0 .3 1.8l.1.1-2.8 2.8-.1-.1a1.7 1.7 0 0 0-2.9 1.2V21H10v-.2A1.7 1.7 0 0 0 7.2 19.6l-.1.1-2.8-2.8.1-.1A1.7 1.7 0 0 0 3.2 14H3v-4h.2a1.7 1.7 0 0 0 1.2-2.9l-.1-.1L7.1 4.2l.1.1A1.7 1.7 0 0 0 10 3.2V3h4v.2a1.7 1.7 0 0 0 2.9 1.2l.1-.1 2.8 2.8-.1.1A1.7 1.7 0 0 0 20.8 10h.2v4h-.2a1.7 1.7 0 0 0-1.4 1" />
  ),
  sessions: <path d="M12 11a3 3 0 1 0 0-6 3 3 0 0 0 0 6M6 20v-1a6 6 0 0 1 12 0v1M18 4l2 2-2 2" />,
  signOut: <path d="M15 4h4v16h-4M10 8l-4 4 4 4M6 12h10" />,
  gate: <path d="M5 8h14M12 8v12" />,
} satisfies Record<string, ReactNode>;

export type IconName = keyof typeof PATHS;

export function Icon({ name, size = 18 }: { name: IconName; size?: number }) {
  return (
    <svg
      width={size}
      height={size}
      viewBox="0 0 24 24"
      fill="none"
      stroke="currentColor"
      strokeWidth="1.8"
      strokeLinecap="round"
      strokeLinejoin="round"
      aria-hidden="true"
      focusable="false"
    >
      {PATHS[name]}
    </svg>
  );
}
