package org.dbrxspark.notebooks;

import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.Field;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.logging.LogManager;
import jdk.jshell.JShell;
import org.rapaio.jupyter.kernel.MainApp;
import org.rapaio.jupyter.kernel.channels.Channels;
import org.rapaio.jupyter.kernel.channels.LoopThread;
import org.rapaio.jupyter.kernel.core.ConnectionProperties;
import org.rapaio.jupyter.kernel.core.Transform;

/**
 * Starts the rapaio Java kernel (3.0.1) for one Jupyter connection file; {@code kernel.json} runs
 * it. It does what rapaio's own {@code MainApp} does, plus four fixes:
 *
 * <ul>
 *   <li><b>Logging</b>: java.util.logging at INFO, not FINEST. Spark forwards JUL records to SLF4J,
 *       and at FINEST Janino's method tracing fails while formatting a class name, which breaks
 *       Spark's code generation (StringIndexOutOfBoundsException) on the first file read.
 *   <li><b>Early requests</b>: rapaio binds its sockets before it builds its table of message
 *       handlers. A client's first {@code kernel_info_request} (clients send it as soon as they
 *       connect) can arrive in between and kill the shell thread with a NullPointerException. With
 *       an empty table in place first, such a request is logged as unhandled, and clients send it
 *       again until they get a reply.
 *   <li><b>Loop threads</b>: rapaio's socket threads set their "running" flag after {@code
 *       Thread.start()}, so a thread that runs first sees it unset and ends at once (seen in 3 of 8
 *       starts on a loaded 2-core machine); the kernel then never answers. Such a thread is
 *       replaced by a new one with the same loop.
 *   <li><b>Start-up imports</b>: rapaio evaluates its start-up imports as one JShell snippet, which
 *       JShell keys by the first import ({@code java.util.*}). A cell that imports {@code
 *       java.util.*} again replaces that snippet and drops the others with it, among them the
 *       static import of {@code display(...)}. Evaluated again one by one, they stay.
 * </ul>
 *
 * The reflection below names rapaio 3.0.1's private fields; a kernel version without them fails
 * here, at start-up, with the field's name. When Jupyter shuts the kernel down the JVM exits, even
 * while a SparkSession's threads still run.
 */
public final class KernelMain {
  /** Longer than a thread that lost the start race needs to end; shorter than anyone notices. */
  private static final long START_CHECK_MILLIS = 200;

  private static final int START_ATTEMPTS = 10;

  private KernelMain() {}

  public static void main(String[] args) throws Exception {
    if (args.length != 1) {
      System.err.println("usage: KernelMain CONNECTION_FILE");
      System.exit(2);
    }
    try (InputStream config = KernelMain.class.getResourceAsStream("kernel-logging.properties")) {
      LogManager.getLogManager().readConfiguration(config);
    }
    ConnectionProperties connection =
        Transform.fromJson(Files.readString(Path.of(args[0])), ConnectionProperties.class);
    reimportOneByOne(MainApp.kernel.javaEngine().getShell());
    Channels channels = new Channels(connection);
    field(Channels.class, "handlers").set(channels, new HashMap<>());
    channels.connect(MainApp.kernel);
    for (String name : List.of("heartbeat", "shell", "control")) {
      keepLoopRunning(field(Channels.class, name).get(channels));
    }
    channels.joinUntilClose();
    System.exit(0);
  }

  private static void reimportOneByOne(JShell shell) throws IOException {
    try (InputStream init = MainApp.class.getClassLoader().getResourceAsStream("init.jshell")) {
      String script = new String(init.readAllBytes(), StandardCharsets.UTF_8);
      for (String line : script.split("\\R")) {
        if (!line.isBlank()) {
          shell.eval(line);
        }
      }
    }
  }

  /** Replaces the channel's loop thread while it ends right after its start. */
  private static void keepLoopRunning(Object channel)
      throws ReflectiveOperationException, InterruptedException {
    Field loopField = field(channel.getClass(), "loopThread");
    LoopThread loop = (LoopThread) loopField.get(channel);
    for (int attempt = 1; ; attempt++) {
      loop.join(START_CHECK_MILLIS);
      if (loop.isAlive()) {
        return;
      }
      if (attempt == START_ATTEMPTS) {
        throw new IllegalStateException(
            loop.getName() + " did not keep running after " + attempt + " starts");
      }
      loop =
          new LoopThread(
              loop.getName(),
              (long) field(LoopThread.class, "sleep").get(loop),
              (Runnable) field(LoopThread.class, "loopBody").get(loop));
      loopField.set(channel, loop);
      loop.start();
    }
  }

  private static Field field(Class<?> type, String name) throws NoSuchFieldException {
    Field field = type.getDeclaredField(name);
    field.setAccessible(true);
    return field;
  }
}
