import {
  ErrorCode,
  OpenFeatureEventEmitter,
  ProviderEvents,
  StandardResolutionReasons,
  type EvaluationContext,
  type JsonValue,
  type Provider,
  type ResolutionDetails,
} from '@openfeature/server-sdk';
import { FLAG_NAMES, type FlagName } from '../config/settings.js';
import type { DeploymentEnvironment } from './flag-value.js';
import type { StoreFlagSource } from './store-flag-source.js';

/**
 * An OpenFeature server provider over TenantGate's flag store, so host
 * applications read the same flags as the gate, with the same
 * precedence. The evaluation context's `targetingKey` is the company
 * id (cohorts and overrides apply to it); an `environment` attribute
 * of `staging` or `production` picks the deployment environment
 * (default: the source's own). Flags are boolean; other types resolve
 * to the default value with TYPE_MISMATCH.
 */
export class TenantGateFlagProvider implements Provider {
  readonly metadata = { name: 'tenantgate-flag-store' } as const;
  readonly runsOn = 'server' as const;
  readonly events = new OpenFeatureEventEmitter();
  private readonly unsubscribe: () => void;

  constructor(
    private readonly source: StoreFlagSource,
    private readonly environment: DeploymentEnvironment,
  ) {
    this.unsubscribe = source.onChange(() =>
      this.events.emit(ProviderEvents.ConfigurationChanged, {
        providerName: this.metadata.name,
      }),
    );
  }

  async resolveBooleanEvaluation(
    flagKey: string,
    defaultValue: boolean,
    context: EvaluationContext,
  ): Promise<ResolutionDetails<boolean>> {
    if (!isFlagName(flagKey)) {
      return {
        value: defaultValue,
        reason: StandardResolutionReasons.ERROR,
        errorCode: ErrorCode.FLAG_NOT_FOUND,
        errorMessage: `no flag ${flagKey}`,
      };
    }
    const environment = environmentOf(context) ?? this.environment;
    const companyId = context.targetingKey;
    const effective = this.source.effective(flagKey, {
      environment,
      companyId,
    });
    return {
      value: effective.value,
      variant: effective.value ? 'on' : 'off',
      reason: this.source.status().stale
        ? StandardResolutionReasons.STALE
        : reasonFor(effective.source, companyId),
      flagMetadata: { source: effective.source, environment },
    };
  }

  async resolveStringEvaluation(
    flagKey: string,
    defaultValue: string,
  ): Promise<ResolutionDetails<string>> {
    return mismatch(flagKey, defaultValue);
  }

  async resolveNumberEvaluation(
    flagKey: string,
    defaultValue: number,
  ): Promise<ResolutionDetails<number>> {
    return mismatch(flagKey, defaultValue);
  }

  async resolveObjectEvaluation<T extends JsonValue>(
    flagKey: string,
    defaultValue: T,
  ): Promise<ResolutionDetails<T>> {
    return mismatch(flagKey, defaultValue);
  }

  /** Stops forwarding change events; the flag source stays running. */
  async onClose(): Promise<void> {
    this.unsubscribe();
  }
}

function isFlagName(key: string): key is FlagName {
  return (FLAG_NAMES as readonly string[]).includes(key);
}

function environmentOf(
  context: EvaluationContext,
): DeploymentEnvironment | undefined {
  const env = context.environment;
  return env === 'staging' || env === 'production' ? env : undefined;
}

function reasonFor(source: string, companyId: string | undefined) {
  if (source === 'default') return StandardResolutionReasons.DEFAULT;
  if (source === 'env') return StandardResolutionReasons.STATIC;
  return companyId === undefined
    ? StandardResolutionReasons.STATIC
    : StandardResolutionReasons.TARGETING_MATCH;
}

function mismatch<T>(flagKey: string, defaultValue: T): ResolutionDetails<T> {
  return {
    value: defaultValue,
    reason: StandardResolutionReasons.ERROR,
    errorCode: ErrorCode.TYPE_MISMATCH,
    errorMessage: `${flagKey}: TenantGate flags are boolean`,
  };
}
