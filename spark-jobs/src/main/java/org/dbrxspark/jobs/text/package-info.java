/**
 * Text primitives shared by the jobs that compare documents word by word (dedup's shingles,
 * decontaminate's n-grams): one word split and one 64-bit mixer, so that both see the same words;
 * and the sentences and paragraphs that dedup's span level compares ({@link
 * org.dbrxspark.jobs.text.Spans}).
 */
package org.dbrxspark.jobs.text;
