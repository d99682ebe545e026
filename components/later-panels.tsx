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
 * that is all the JavaScript it runs when the page opens.
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

const TrafficChart = dynamic(() => import("@/components/traffic-chart").then((m) => m.TrafficChart), {
  ssr: false,
  loading: panelSkeleton("h-80 lg:col-span-2"),
});
const SimulatorPanel = dynamic(() => import("@/components/simulator-panel").then((m) => m.SimulatorPanel), {
  ssr: false,
  loading: panelSkeleton("h-96 lg:row-span-2"),
});
const HitRatioChart = dynamic(() => import("@/components/hit-ratio-chart").then((m) => m.HitRatioChart), {
  ssr: false,
  loading: panelSkeleton("h-64"),
});
const TopConsumers = dynamic(() => import("@/components/top-consumers").then((m) => m.TopConsumers), {
  ssr: false,
  loading: panelSkeleton("h-64"),
});
const ActivityFeed = dynamic(() => import("@/components/activity-feed").then((m) => m.ActivityFeed), {
  ssr: false,
  loading: panelSkeleton("h-96 lg:col-span-2"),
});
const TryItPanel = dynamic(() => import("@/components/try-it-panel").then((m) => m.TryItPanel), {
  ssr: false,
  loading: panelSkeleton("h-96"),
});
const AlgorithmLab = dynamic(() => import("@/components/algorithm-lab").then((m) => m.AlgorithmLab), {
  ssr: false,
  loading: panelSkeleton("h-[32rem]"),
});
const KeyDistribution = dynamic(() => import("@/components/key-distribution").then((m) => m.KeyDistribution), {
  ssr: false,
  loading: panelSkeleton("h-72"),
});
const ValkeyFacts = dynamic(() => import("@/components/valkey-panel").then((m) => m.ValkeyFacts), {
  ssr: false,
  loading: panelSkeleton("h-72"),
});
const ValkeyUnderTheHood = dynamic(() => import("@/components/valkey-under-the-hood").then((m) => m.ValkeyUnderTheHood), {
  ssr: false,
  loading: panelSkeleton("h-[40rem]"),
});

export function TrafficAndSimulator() {
  return (
    <div className="grid gap-4 lg:grid-cols-3">
      <Deferred className="lg:col-span-2" label="Traffic" placeholderClassName="min-h-[22rem]">
        <TrafficChart />
      </Deferred>
      <Deferred className="lg:row-span-2" label="Load simulator" placeholderClassName="min-h-[36rem]">
        <SimulatorPanel className="h-full" />
      </Deferred>
      <div className="grid gap-4 md:grid-cols-2 lg:col-span-2">
        <Deferred label="Cache hit ratio" placeholderClassName="min-h-[18rem]">
          <HitRatioChart />
        </Deferred>
        <Deferred label="Top consumers" placeholderClassName="min-h-[18rem]">
          <TopConsumers />
        </Deferred>
      </div>
    </div>
  );
}

export function ActivityAndTryIt() {
  return (
    <div className="grid gap-4 lg:grid-cols-3">
      <Deferred className="lg:col-span-2" label="Live activity" placeholderClassName="min-h-[36rem]">
        <ActivityFeed className="h-full" />
      </Deferred>
      <Deferred label="Try it" placeholderClassName="min-h-[36rem]">
        <TryItPanel className="h-full" />
      </Deferred>
    </div>
  );
}

export function LabSection() {
  return (
    <Deferred label="Algorithm lab" placeholderClassName="min-h-[40rem] lg:min-h-[32rem]">
      <AlgorithmLab />
    </Deferred>
  );
}

/** The keys, Valkey facts and (server-rendered, passed in) the commands explainer. */
export function KeysAndValkey({ explainer }: { explainer: ReactNode }) {
  return (
    <Deferred label="Keys in Valkey and the Valkey panel" placeholderClassName="min-h-[48rem] lg:min-h-[20rem]">
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
    <Deferred label="Valkey under the hood" placeholderClassName="min-h-[60rem]">
      <ValkeyUnderTheHood />
    </Deferred>
  );
}
