import type { AccountEnvironment, Kind } from '../accounts/kinds.js';
import type { RoutedAccount } from '../enforcement/gate.js';
import { TenantGateError } from '../errors/tenantgate-error.js';
import { createEposlovanjeClient } from './eposlovanje-client.js';
import { createFinaClient } from './fina-client.js';
import type { IntermediaryClient } from './intermediary.js';
import { createIeRacuniClient } from './ie-racuni-client.js';
import { createMojEracunClient } from './moj-eracun-client.js';
import type { IntermediaryDirectory } from './outbound.js';

/** Public endpoints per kind and account environment (PROTOCOLS.md). */
export const DEFAULT_ENDPOINTS: Partial<
  Record<Kind, Record<AccountEnvironment, string>>
> = {
  EINVOICE_EPOSLOVANJE: {
    TEST: 'https://test.eposlovanje.hr',
    PROD: 'https://eracun.eposlovanje.hr',
  },
  EINVOICE_MOJ_ERACUN: {
    TEST: 'https://demo.moj-eracun.hr',
    PROD: 'https://www.moj-eracun.hr',
  },
};

type ClientFactory = (
  baseUrl: string,
  options: DirectoryOptions,
) => IntermediaryClient;

/** The client of each implemented intermediary kind. */
const FACTORIES: Partial<Record<Kind, ClientFactory>> = {
  EINVOICE_EPOSLOVANJE: (baseUrl, o) =>
    createEposlovanjeClient({
      baseUrl,
      softwareId: o.softwareId,
      timeoutMs: o.timeoutMs,
    }),
  EINVOICE_MOJ_ERACUN: (baseUrl, o) =>
    createMojEracunClient({
      baseUrl,
      softwareId: o.softwareId,
      timeoutMs: o.timeoutMs,
    }),
  // No public default endpoint: accounts name theirs (providerConfig).
  EINVOICE_IE_RACUNI: (baseUrl, o) =>
    createIeRacuniClient({ baseUrl, timeoutMs: o.timeoutMs }),
  EINVOICE_FINA: (baseUrl, o) =>
    createFinaClient({
      baseUrl,
      timeoutMs: o.timeoutMs,
      ...(o.serverCa?.EINVOICE_FINA ? { ca: o.serverCa.EINVOICE_FINA } : {}),
    }),
};

export interface DirectoryOptions {
  softwareId: string;
  timeoutMs: number;
  /** The environment legacy (V1) credentials talk to. */
  accountEnvironment: AccountEnvironment;
  /**
   * Endpoint overrides per kind, e.g. the sandbox simulators. Default:
   * none; an account's `providerConfig.baseUrl` wins over both.
   */
  endpoints?: Partial<Record<Kind, string>>;
  /**
   * CA certificates (PEM) a kind's server certificate must chain to,
   * e.g. the FINA sandbox's demo CA. Default: Node's bundled CAs.
   */
  serverCa?: Partial<Record<Kind, string>>;
}

/**
 * Builds intermediary clients, one per kind and endpoint. A kind
 * without a client fails with a clear error.
 */
export function createIntermediaryDirectory(
  options: DirectoryOptions,
): IntermediaryDirectory {
  const clients = new Map<string, IntermediaryClient>();
  return {
    client(kind: Kind, account: RoutedAccount | null): IntermediaryClient {
      const baseUrl = endpointFor(kind, account, options);
      const key = `${kind} ${baseUrl}`;
      const cached = clients.get(key);
      if (cached) return cached;
      const factory = FACTORIES[kind];
      if (!factory) {
        throw new TenantGateError(
          'INVALID_INPUT',
          `No client for ${kind} in this version`,
          { field: 'kind', rule: 'supported-intermediary', kind },
        );
      }
      const client = factory(baseUrl, options);
      clients.set(key, client);
      return client;
    },
  };
}

function endpointFor(
  kind: Kind,
  account: RoutedAccount | null,
  options: DirectoryOptions,
): string {
  const configured = account?.providerConfig.baseUrl;
  if (typeof configured === 'string') return configured;
  const override = options.endpoints?.[kind];
  if (override) return override;
  const environment = account?.environment ?? options.accountEnvironment;
  const endpoint = DEFAULT_ENDPOINTS[kind]?.[environment];
  if (endpoint) return endpoint;
  throw new TenantGateError(
    'INVALID_INPUT',
    `No endpoint configured for ${kind}`,
    { field: 'providerConfig.baseUrl', rule: 'required', kind },
  );
}
