package org.dbrxspark.runtime.backend;

/** A device's free and total memory in bytes, as its driver reports them. */
public record DeviceMemory(long freeBytes, long totalBytes) {}
