/**
 * A command-line ingestor configured by one YAML file: {@link io.crest.ingestor.Ingestor}
 * ({@code check} and {@code run}), distributed as {@code crest-ingestor-<version>.tar.gz} with
 * {@code bin/crest-ingestor}, and with {@code orders.yaml} as its example. Everything but {@code
 * Ingestor} and {@code StopSignal} is package-private.
 */
package io.crest.ingestor;
