// `market-type` and `spot-fallback`: which EC2 market a new hub is launched in, and whether a
// Spot launch with no capacity anywhere may fall back to On-Demand.
import { boolean, pick } from './fields.ts';

export type MarketType = 'on-demand' | 'spot';
export const MARKET_TYPES: readonly MarketType[] = ['on-demand', 'spot'];

export interface MarketSpec {
  marketType: MarketType;
  /** Spot only: launch On-Demand when no (type, subnet) has Spot capacity. */
  spotFallback: boolean;
}

/** `get` returns an input's trimmed value, or its default. */
export function parseMarket(get: (name: string) => string): MarketSpec {
  const marketType = pick('market-type', get('market-type'), MARKET_TYPES);
  const spotFallback = boolean('spot-fallback', get('spot-fallback'));
  // Meaningless for on-demand, and harmless: a matrix may pass it to both markets.
  return { marketType, spotFallback: marketType === 'spot' && spotFallback };
}
