/**
 * Text primitives shared by the jobs that look at documents word by word (curate's word filters,
 * dedup's shingles, decontaminate's n-grams): one word split, with ICU word segmentation for the
 * scripts written without spaces, and one 64-bit mixer, so that all of them see the same words; the
 * sentences and paragraphs that dedup's span level compares ({@link
 * org.dbrxspark.jobs.text.Spans}); and the full stops that end a sentence without a space after
 * them ({@link org.dbrxspark.jobs.text.ScriptFullStops}).
 */
package org.dbrxspark.jobs.text;
