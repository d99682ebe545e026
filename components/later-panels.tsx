"use client";

import dynamic from "next/dynamic";
import type { ReactNode } from "react";
import { Deferred } from "@/components/deferred";
import { Skeleton } from "@/components/ui";

/**
 * Every panel below the stat cards, in the order the page shows them, each
 * group mounted by <Deferred> when it comes near the viewport (or the viewer
 * acts) and its code fetched only then (next/dynamic): charts and all. The
 * first screen of a phone is the header, the intro and the stat cards, so
 * that is all the JavaScript it runs when the page opens. Each loader is
 * named once, for next/dynamic and for <Deferred preload>, which starts the
 * fetch while the panels before it draw.
 */

/** While a panel's code is on its way (data-panel-loading: the e2e page object waits for none). */
const panelSkeleton = (className: string) =>
  function PanelSkeleton() {
    return (
      <div data-panel-loading className={className}>
        <Skeleton className="h-full w-full" />
      </div>
    );
  };

const loadTrafficChart = () => import("@/components/traffic-chart");
const TrafficChart = dynamic(() => loadTrafficChart().then((m) => m.TrafficChart), {
  ssr: false,
  loading: panelSkeleton("h-80 lg:col-span-2"),
});
const loadSimulatorPanel = () => import("@/components/simulator-panel");
const SimulatorPanel = dynamic(() => loadSimulatorPanel().then((m) => m.SimulatorPanel), {
  ssr: false,
  loading: panelSkeleton("h-96 lg:row-span-2"),
});
const loadHitRatioChart = () => import("@/components/hit-ratio-chart");
const HitRatioChart = dynamic(() => loadHitRatioChart().then((m) => m.HitRatioChart), {
  ssr: false,
  loading: panelSkeleton("h-64"),
});
const loadTopConsumers = () => import("@/components/top-consumers");
const TopConsumers = dynamic(() => loadTopConsumers().then((m) => m.TopConsumers), {
  ssr: false,
  loading: panelSkeleton("h-64"),
});
const loadActivityFeed = () => import("@/components/activity-feed");
const ActivityFeed = dynamic(() => loadActivityFeed().then((m) => m.ActivityFeed), {
  ssr: false,
  loading: panelSkeleton("h-96 lg:col-span-2"),
});
const loadTryItPanel = () => import("@/components/try-it-panel");
const TryItPanel = dynamic(() => loadTryItPanel().then((m) => m.TryItPanel), {
  ssr: false,
  loading: panelSkeleton("h-96"),
});
const loadAlgorithmLab = () => import("@/components/algorithm-lab");
const AlgorithmLab = dynamic(() => loadAlgorithmLab().then((m) => m.AlgorithmLab), {
  ssr: false,
  loading: panelSkeleton("h-[32rem]"),
});
const loadKeyDistribution = () => import("@/components/key-distribution");
const KeyDistribution = dynamic(() => loadKeyDistribution().then((m) => m.KeyDistribution), {
  ssr: false,
  loading: panelSkeleton("h-72"),
});
const loadValkeyFacts = () => import("@/components/valkey-panel");
const ValkeyFacts = dynamic(() => loadValkeyFacts().then((m) => m.ValkeyFacts), {
  ssr: false,
  loading: panelSkeleton("h-72"),
});
const loadValkeyUnderTheHood = () => import("@/components/valkey-under-the-hood");
const ValkeyUnderTheHood = dynamic(() => loadValkeyUnderTheHood().then((m) => m.ValkeyUnderTheHood), {
  ssr: false,
  loading: panelSkeleton("h-[40rem]"),
});

export function TrafficAndSimulator() {
  return (
    <div className="grid gap-4 lg:grid-cols-3">
      <Deferred className="lg:col-span-2" label="Traffic" preload={loadTrafficChart} placeholderClassName="min-h-[22rem]">
        <TrafficChart />
      </Deferred>
      <Deferred className="lg:row-span-2" label="Load simulator" preload={loadSimulatorPanel} placeholderClassName="min-h-[36rem]">
        <SimulatorPanel className="h-full" />
      </Deferred>
      <div className="grid gap-4 md:grid-cols-2 lg:col-span-2">
        <Deferred label="Cache hit ratio" preload={loadHitRatioChart} placeholderClassName="min-h-[18rem]">
          <HitRatioChart />
        </Deferred>
        <Deferred label="Top consumers" preload={loadTopConsumers} placeholderClassName="min-h-[18rem]">
          <TopConsumers />
        </Deferred>
      </div>
    </div>
  );
}

export function ActivityAndTryIt() {
  return (
    <div className="grid gap-4 lg:grid-cols-3">
      <Deferred className="lg:col-span-2" label="Live activity" preload={loadActivityFeed} placeholderClassName="min-h-[36rem]">
        <ActivityFeed className="h-full" />
      </Deferred>
      <Deferred label="Try it" preload={loadTryItPanel} placeholderClassName="min-h-[36rem]">
        <TryItPanel className="h-full" />
      </Deferred>
    </div>
  );
}

export function LabSection() {
  return (
    <Deferred label="Algorithm lab" preload={loadAlgorithmLab} placeholderClassName="min-h-[40rem] lg:min-h-[32rem]">
      <AlgorithmLab />
    </Deferred>
  );
}

/** The keys, Valkey facts and (server-rendered, passed in) the commands explainer. */
const loadKeysAndValkey = () => Promise.all([loadKeyDistribution(), loadValkeyFacts()]);

export function KeysAndValkey({ explainer }: { explainer: ReactNode }) {
  return (
    <Deferred label="Keys in Valkey and the Valkey panel" preload={loadKeysAndValkey} placeholderClassName="min-h-[48rem] lg:min-h-[20rem]">
      <div className="grid gap-4 lg:grid-cols-3">
        <KeyDistribution />
        <ValkeyFacts />
        {explainer}
      </div>
    </Deferred>
  );
}

export function UnderTheHood() {
  return (
    <Deferred label="Valkey under the hood" preload={loadValkeyUnderTheHood} placeholderClassName="min-h-[60rem]">
      <ValkeyUnderTheHood />
    </Deferred>
  );
}
