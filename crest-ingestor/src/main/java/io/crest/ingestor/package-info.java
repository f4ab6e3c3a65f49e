/**
 * A command-line ingestor configured by one YAML file: {@link
 * io.crest.ingestor.Ingestor} ({@code check} and {@code run}), with {@code
 * samples/config/orders.yaml} as its example. Everything but {@code Ingestor}, {@code
 * StopSignal} and {@code DemoFlightServer} is package-private.
 */
package io.crest.ingestor;
