import type { Metadata, Viewport } from "next";
import "./globals.css";

export const metadata: Metadata = {
  title: "Flowgate: an AI-API gateway on Valkey",
  description: "Live rate limits, prompt cache and decision stream of a simulated LLM gateway, on Valkey.",
  icons: { icon: "/favicon.svg" },
};

export const viewport: Viewport = { themeColor: "#020617", width: "device-width", initialScale: 1 };

export default function RootLayout({ children }: { children: React.ReactNode }) {
  return (
    <html lang="en">
      <body className="min-h-screen font-sans">{children}</body>
    </html>
  );
}
