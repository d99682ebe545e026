import "server-only";
import { isUpstreamError, type Upstream, type UpstreamModel } from "@/lib/gateway/upstreams/types";
import { upstreamFailure } from "@/lib/errors";

/**
 * The upstream's model list, asked at most once a minute per upstream: a
 * real server's GET /models is a network call that SDKs make on start-up,
 * and the list changes rarely. A failed ask is not kept.
 */
const TTL_MS = 60_000;
const lists = new WeakMap<Upstream, { at: number; models: Promise<UpstreamModel[]> }>();

export async function listModels(upstream: Upstream): Promise<UpstreamModel[]> {
  const kept = lists.get(upstream);
  if (kept && performance.now() - kept.at < TTL_MS) return kept.models;
  const models = upstream.listModels(AbortSignal.timeout(10_000));
  lists.set(upstream, { at: performance.now(), models });
  try {
    return await models;
  } catch (error) {
    lists.delete(upstream);
    throw isUpstreamError(error) ? upstreamFailure(error, "models") : error;
  }
}
