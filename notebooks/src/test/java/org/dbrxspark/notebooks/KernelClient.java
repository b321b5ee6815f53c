package org.dbrxspark.notebooks;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.zeromq.SocketType;
import org.zeromq.ZContext;
import org.zeromq.ZMQ;

/**
 * A Jupyter client for one kernel process, as nbclient does it: the kernel is started from its
 * {@code kernel.json} (argv and env) with a fresh connection file, and spoken to over ZeroMQ with
 * signed messages (Jupyter messaging protocol 5.3): {@code execute_request} on the shell socket,
 * outputs from the IOPub socket, {@code shutdown_request} on the control socket.
 */
final class KernelClient implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String DELIMITER = "<IDS|MSG>";
  private static final Duration RETRY = Duration.ofSeconds(1);

  /** One executed cell: status {@code ok} or {@code error}, and its outputs in nbformat 4 form. */
  record Execution(String status, int executionCount, List<ObjectNode> outputs) {}

  private final Process process;
  private final Path log;
  private final ZContext zmq = new ZContext();
  private final ZMQ.Socket shell;
  private final ZMQ.Socket iopub;
  private final ZMQ.Socket control;
  private final ZMQ.Poller poller;
  private final Mac signer;
  private final String session = UUID.randomUUID().toString();

  private KernelClient(Process process, Path log, Map<String, Integer> ports, byte[] key)
      throws GeneralSecurityException {
    this.process = process;
    this.log = log;
    this.signer = Mac.getInstance("HmacSHA256");
    signer.init(new SecretKeySpec(key, "HmacSHA256"));
    shell = connect(SocketType.DEALER, ports.get("shell_port"));
    control = connect(SocketType.DEALER, ports.get("control_port"));
    iopub = zmq.createSocket(SocketType.SUB);
    iopub.subscribe(ZMQ.SUBSCRIPTION_ALL);
    iopub.connect("tcp://127.0.0.1:" + ports.get("iopub_port"));
    poller = zmq.createPoller(2);
    poller.register(shell, ZMQ.Poller.POLLIN);
    poller.register(iopub, ZMQ.Poller.POLLIN);
  }

  /**
   * Starts the kernel of {@code kernelSpec} (a folder with kernel.json) in {@code workingDir}, its
   * stdout and stderr going to {@code log}, and waits until it answers on shell and IOPub.
   */
  static KernelClient start(Path kernelSpec, Path workingDir, Path log, Duration timeout)
      throws IOException {
    JsonNode spec = JSON.readTree(kernelSpec.resolve("kernel.json").toFile());
    Map<String, Integer> ports =
        freePorts("shell_port", "iopub_port", "stdin_port", "control_port", "hb_port");
    byte[] key = UUID.randomUUID().toString().getBytes(StandardCharsets.US_ASCII);
    ObjectNode connection =
        JSON.createObjectNode()
            .put("transport", "tcp")
            .put("ip", "127.0.0.1")
            .put("signature_scheme", "hmac-sha256")
            .put("key", new String(key, StandardCharsets.US_ASCII));
    ports.forEach(connection::put);
    Files.createDirectories(log.getParent());
    Path connectionFile = log.resolveSibling(log.getFileName() + ".connection.json");
    Files.writeString(connectionFile, connection.toString());

    List<String> argv = new ArrayList<>();
    spec.get("argv")
        .forEach(
            arg -> argv.add(arg.asText().replace("{connection_file}", connectionFile.toString())));
    ProcessBuilder builder =
        new ProcessBuilder(argv)
            .directory(workingDir.toFile())
            .redirectErrorStream(true)
            .redirectOutput(log.toFile());
    spec.path("env")
        .fields()
        .forEachRemaining(e -> builder.environment().put(e.getKey(), e.getValue().asText()));
    KernelClient client;
    try {
      client = new KernelClient(builder.start(), log, ports, key);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
    try {
      client.awaitReady(timeout);
    } catch (RuntimeException e) {
      client.close();
      throw e;
    }
    return client;
  }

  /**
   * Asks for kernel info until the shell replies and the request's status appears on IOPub, which
   * proves the IOPub subscription is live, so no output of the first cell is lost.
   */
  private void awaitReady(Duration timeout) {
    Instant deadline = Instant.now().plus(timeout);
    while (Instant.now().isBefore(deadline)) {
      String id = send(shell, "kernel_info_request", JSON.createObjectNode());
      boolean replied = false;
      boolean published = false;
      Instant retry = Instant.now().plus(RETRY);
      while (!(replied && published) && Instant.now().isBefore(retry)) {
        for (ObjectNode message : receive(Duration.between(Instant.now(), retry))) {
          boolean mine = id.equals(message.path("parent_header").path("msg_id").asText());
          replied |=
              mine && message.path("header").path("msg_type").asText().equals("kernel_info_reply");
          published |= mine && message.path("header").path("msg_type").asText().equals("status");
        }
      }
      if (replied && published) {
        return;
      }
    }
    throw new IllegalStateException("kernel did not answer within " + timeout + "\n" + logTail());
  }

  /** Runs {@code code} and collects its outputs until the kernel is idle again. */
  Execution execute(String code, Duration timeout) {
    ObjectNode content =
        JSON.createObjectNode()
            .put("code", code)
            .put("silent", false)
            .put("store_history", true)
            .put("allow_stdin", false)
            .put("stop_on_error", true);
    content.putObject("user_expressions");
    String id = send(shell, "execute_request", content);
    List<ObjectNode> outputs = new ArrayList<>();
    JsonNode reply = null;
    boolean idle = false;
    Instant deadline = Instant.now().plus(timeout);
    while (reply == null || !idle) {
      if (!Instant.now().isBefore(deadline)) {
        throw new IllegalStateException(
            "cell did not finish within " + timeout + ":\n" + code + "\n" + logTail());
      }
      for (ObjectNode message : receive(Duration.between(Instant.now(), deadline))) {
        if (!id.equals(message.path("parent_header").path("msg_id").asText())) {
          continue;
        }
        String type = message.path("header").path("msg_type").asText();
        JsonNode body = message.path("content");
        switch (type) {
          case "execute_reply" -> reply = body;
          case "status" -> idle |= body.path("execution_state").asText().equals("idle");
          case "stream" ->
              appendStream(outputs, body.path("name").asText(), body.path("text").asText());
          case "display_data", "execute_result", "error" -> outputs.add(output(type, body));
          case "clear_output" -> outputs.clear();
          default -> {}
        }
      }
    }
    return new Execution(
        reply.path("status").asText(), reply.path("execution_count").asInt(), outputs);
  }

  /** Consecutive stream messages of one name become one output, as in a saved notebook. */
  private static void appendStream(List<ObjectNode> outputs, String name, String text) {
    ObjectNode last = outputs.isEmpty() ? null : outputs.get(outputs.size() - 1);
    if (last != null
        && last.path("output_type").asText().equals("stream")
        && last.path("name").asText().equals(name)) {
      last.put("text", last.path("text").asText() + text);
    } else {
      outputs.add(
          JSON.createObjectNode().put("output_type", "stream").put("name", name).put("text", text));
    }
  }

  private static ObjectNode output(String type, JsonNode body) {
    ObjectNode output = JSON.createObjectNode().put("output_type", type);
    if (type.equals("error")) {
      output.set("ename", body.path("ename"));
      output.set("evalue", body.path("evalue"));
      output.set("traceback", body.path("traceback"));
    } else {
      if (type.equals("execute_result")) {
        output.set("execution_count", body.path("execution_count"));
      }
      output.set("data", body.path("data"));
      output.set(
          "metadata",
          body.path("metadata").isObject() ? body.path("metadata") : JSON.createObjectNode());
    }
    return output;
  }

  /** CPU time the kernel process has used so far (a load-independent cost measure). */
  Duration cpuTime() {
    return process.info().totalCpuDuration().orElse(Duration.ZERO);
  }

  /** The last lines of the kernel's own log, for failure messages. */
  String logTail() {
    try {
      List<String> lines = Files.readAllLines(log);
      return "--- kernel log "
          + log
          + " (last lines) ---\n"
          + String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
    } catch (IOException e) {
      return "(no kernel log: " + e.getMessage() + ")";
    }
  }

  /** Asks the kernel to shut down, then ends the process if it has not exited. */
  @Override
  public void close() {
    try {
      if (process.isAlive()) {
        send(control, "shutdown_request", JSON.createObjectNode().put("restart", false));
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
          process.destroy();
          if (!process.waitFor(10, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor();
          }
        }
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    } finally {
      zmq.close();
    }
  }

  private ZMQ.Socket connect(SocketType type, int port) {
    ZMQ.Socket socket = zmq.createSocket(type);
    socket.setLinger(0);
    socket.connect("tcp://127.0.0.1:" + port);
    return socket;
  }

  /** Sends a signed message and returns its msg_id. */
  private String send(ZMQ.Socket socket, String type, ObjectNode content) {
    String id = UUID.randomUUID().toString();
    ObjectNode header =
        JSON.createObjectNode()
            .put("msg_id", id)
            .put("username", "dbrx-spark-tests")
            .put("session", session)
            .put("date", Instant.now().toString())
            .put("msg_type", type)
            .put("version", "5.3");
    byte[][] parts = {
      bytes(header),
      "{}".getBytes(StandardCharsets.UTF_8),
      "{}".getBytes(StandardCharsets.UTF_8),
      bytes(content)
    };
    socket.sendMore(DELIMITER);
    socket.sendMore(sign(parts));
    for (int i = 0; i < parts.length; i++) {
      if (i < parts.length - 1) {
        socket.sendMore(parts[i]);
      } else {
        socket.send(parts[i]);
      }
    }
    return id;
  }

  /**
   * Waits up to {@code wait} for messages on shell or IOPub and returns those that arrived, each as
   * {header, parent_header, content}. Fails when the kernel process has exited.
   */
  private List<ObjectNode> receive(Duration wait) {
    if (!process.isAlive()) {
      throw new IllegalStateException(
          "kernel exited with code " + process.exitValue() + "\n" + logTail());
    }
    List<ObjectNode> messages = new ArrayList<>();
    if (poller.poll(Math.max(1, Math.min(wait.toMillis(), 500))) > 0) {
      for (ZMQ.Socket socket : List.of(shell, iopub)) {
        byte[] first;
        while ((first = socket.recv(ZMQ.DONTWAIT)) != null) {
          messages.add(parse(first, socket));
        }
      }
    }
    return messages;
  }

  private ObjectNode parse(byte[] first, ZMQ.Socket socket) {
    List<byte[]> frames = new ArrayList<>();
    frames.add(first);
    while (socket.hasReceiveMore()) {
      frames.add(socket.recv());
    }
    int at = 0;
    while (!new String(frames.get(at), StandardCharsets.UTF_8).equals(DELIMITER)) {
      at++;
    }
    String signature = new String(frames.get(at + 1), StandardCharsets.US_ASCII);
    byte[][] parts = {
      frames.get(at + 2), frames.get(at + 3), frames.get(at + 4), frames.get(at + 5)
    };
    if (!signature.equals(sign(parts))) {
      throw new IllegalStateException("message with a bad signature from the kernel");
    }
    try {
      ObjectNode message = JSON.createObjectNode();
      message.set("header", JSON.readTree(parts[0]));
      message.set("parent_header", JSON.readTree(parts[1]));
      message.set("content", JSON.readTree(parts[3]));
      return message;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private String sign(byte[][] parts) {
    synchronized (signer) {
      for (byte[] part : parts) {
        signer.update(part);
      }
      return HexFormat.of().formatHex(signer.doFinal());
    }
  }

  private static byte[] bytes(JsonNode node) {
    try {
      return JSON.writeValueAsBytes(node);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Ports that are free now, as jupyter_client picks them (the kernel binds them right after). */
  private static Map<String, Integer> freePorts(String... names) throws IOException {
    Map<String, Integer> ports = new LinkedHashMap<>();
    List<ServerSocket> held = new ArrayList<>();
    try {
      for (String name : names) {
        ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
        held.add(socket);
        ports.put(name, socket.getLocalPort());
      }
    } finally {
      for (ServerSocket socket : held) {
        socket.close();
      }
    }
    return ports;
  }
}
