import { ConfigError, loadConfig } from '../../infra/config';

describe('configuration', () => {
  it('defaults to the local stack when no servers are configured', () => {
    const config = loadConfig({});
    expect(config.temporal.address).toBeUndefined();
    expect(config.kafka.brokers).toBeUndefined();
    expect(config.stack.temporalPort).toBe(7233);
    expect(config.stack.kafkaPort).toBe(9092);
    expect(config.stack.kafkaVersion).toBe('3.9.2');
    expect(loadConfig({ PREFLIGHT_KAFKA_VERSION: '4.4.0' }).stack.kafkaVersion).toBe('4.4.0');
    expect(config.temporal.namespace).toBe('default');
    expect(config.metricsPort).toBeUndefined();
    expect(loadConfig({ PREFLIGHT_METRICS_PORT: '9464' }).metricsPort).toBe(9464);
  });

  it('reads external servers', () => {
    const config = loadConfig({ TEMPORAL_ADDRESS: 'temporal.internal:7233', KAFKA_BROKERS: 'k1:9092, k2:9092', TEMPORAL_NAMESPACE: 'preflight' });
    expect(config.temporal.address).toBe('temporal.internal:7233');
    expect(config.kafka.brokers).toEqual(['k1:9092', 'k2:9092']);
    expect(config.temporal.namespace).toBe('preflight');
    expect(config.temporal.httpAddress).toBeUndefined();
    expect(loadConfig({ TEMPORAL_ADDRESS: 't:7233', TEMPORAL_HTTP_ADDRESS: 'https://t.example:7243/' }).temporal.httpAddress).toBe('https://t.example:7243');
  });

  it("puts the local dev server's HTTP API beside its gRPC port unless told otherwise", () => {
    expect(loadConfig({}).stack.temporalHttpPort).toBe(7243);
    expect(loadConfig({ PREFLIGHT_TEMPORAL_PORT: '17233' }).stack.temporalHttpPort).toBe(17243);
    expect(loadConfig({ PREFLIGHT_TEMPORAL_PORT: '17233', PREFLIGHT_TEMPORAL_HTTP_PORT: '18000' }).stack.temporalHttpPort).toBe(18000);
    expect(() => loadConfig({ PREFLIGHT_TEMPORAL_PORT: '65530' })).toThrow(/PREFLIGHT_TEMPORAL_HTTP_PORT/);
  });

  it.each([
    ['PREFLIGHT_TEMPORAL_PORT', 'seventy'],
    ['PREFLIGHT_KAFKA_PORT', '70000'],
    ['PREFLIGHT_METRICS_PORT', '0'],
    ['PREFLIGHT_API_TEMPORAL_TIMEOUT_MS', '500'],
    ['PREFLIGHT_TEMPORAL_METRICS_PORT', 'abc'],
    ['PREFLIGHT_LOG_LEVEL', 'loud'],
    ['KAFKA_BROKERS', 'no-port-here'],
    ['TEMPORAL_ADDRESS', 'http://x'],
    ['TEMPORAL_HTTP_ADDRESS', 'temporal.internal:7243'],
    ['PREFLIGHT_TEMPORAL_HTTP_PORT', '65536'],
    ['PREFLIGHT_KAFKA_VERSION', '3.8.0'],
    ['KAFKA_SSL', 'maybe'],
    ['PREFLIGHT_MASTER_KEY', 'short'],
    ['KAFKA_SASL_MECHANISM', 'kerberos'],
  ])('refuses %s=%s, naming the variable', (variable, value) => {
    let thrown: unknown;
    try {
      loadConfig({ [variable]: value });
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect((thrown as ConfigError).variable).toBe(variable);
    expect((thrown as ConfigError).message).toContain(variable);
  });

  it('never echoes a secret value in its error', () => {
    expect(() => loadConfig({ PREFLIGHT_MASTER_KEY: 'not-a-key-but-secret' })).toThrow(/<redacted>/);
    expect(() => loadConfig({ PREFLIGHT_MASTER_KEY: 'not-a-key-but-secret' })).not.toThrow(/not-a-key-but-secret/);
  });

  it('requires SASL credentials together', () => {
    expect(() => loadConfig({ KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'nsa' })).toThrow(/KAFKA_SASL_PASSWORD/);
  });

  it('accepts boolean flags only as booleans', () => {
    expect(loadConfig({ KAFKA_SSL: 'true' }).kafka.ssl.enabled).toBe(true);
    expect(loadConfig({ KAFKA_SSL: 'false' }).kafka.ssl.enabled).toBe(false);
  });
});
