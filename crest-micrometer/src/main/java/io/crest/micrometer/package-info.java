/** Micrometer meters for Crest pipelines. */
package io.crest.micrometer;
