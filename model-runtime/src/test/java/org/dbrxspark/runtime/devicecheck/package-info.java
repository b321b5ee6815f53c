/**
 * What scripts/device-check needs from the test tree: a runner that executes chosen test classes
 * from its bundle, without Maven, and reports each test as JSON.
 */
package org.dbrxspark.runtime.devicecheck;
