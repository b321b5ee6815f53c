package org.dbrxspark.runtime.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The CLI end to end, in process: exit codes, JSON on stdout, errors on stderr. */
class DbrxCliTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir static Path dir;
  private static String model;

  private record Run(int exit, String out, String err) {
    List<JsonNode> lines() throws Exception {
      List<JsonNode> nodes = new ArrayList<>();
      for (String line : out.split("\n")) {
        if (!line.isBlank()) {
          nodes.add(JSON.readTree(line));
        }
      }
      return nodes;
    }
  }

  private static Run dbrx(String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int exit =
        DbrxCli.run(
            args,
            new PrintStream(out, true, StandardCharsets.UTF_8),
            new PrintStream(err, true, StandardCharsets.UTF_8));
    return new Run(
        exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  @BeforeAll
  static void initCheckpoint() throws Exception {
    model = dir.resolve("tiny").toString();
    Run init = dbrx("init", "--preset", "tiny", "--output", model, "--seed", "3", "--shards", "2");
    assertEquals(0, init.exit(), init.err());
    JsonNode result = init.lines().get(0);
    assertEquals(13_461_824, result.get("parameters").asLong());
    assertEquals("BF16", result.get("dtype").asText());
  }

  @Test
  void logitsPrintsOneVocabularyRowPerPosition() throws Exception {
    Path golden = Path.of(getClass().getResource("/golden/tiny-bf16").toURI());
    Run run = dbrx("logits", "--model", golden.toString(), "--ids", "5,900,17");
    assertEquals(0, run.exit(), run.err());
    JsonNode json = run.lines().get(0);
    assertEquals("[5,900,17]", json.get("ids").toString());
    assertEquals(3, json.get("logits").size());
    assertEquals(1024, json.get("logits").get(0).size());
    JsonNode expected =
        JSON.readTree(golden.resolve("expected-logits.json").toFile()).get("logits");
    assertEquals(
        expected.get(2).get(100).asDouble(), json.get("logits").get(2).get(100).asDouble(), 1e-3);
  }

  @Test
  void generateWritesOneResultPerPromptInOrder() throws Exception {
    Run run =
        dbrx(
            "generate",
            "--model",
            model,
            "--prompt",
            "Hello",
            "--prompt",
            "The sky is",
            "--max-new-tokens",
            "4",
            "--temperature",
            "0.8",
            "--seed",
            "9",
            "--logprobs");
    assertEquals(0, run.exit(), run.err());
    List<JsonNode> lines = run.lines();
    assertEquals(2, lines.size());
    for (int i = 0; i < 2; i++) {
      JsonNode r = lines.get(i);
      assertEquals(i, r.get("index").asInt());
      assertEquals(4, r.get("logprobs").size());
      assertTrue(r.get("completion_tokens").asInt() <= 4);
    }
    assertEquals(1, lines.get(0).get("prompt_tokens").asInt());
    assertTrue(run.err().contains("tokens/s"), run.err());
    Run again =
        dbrx(
            "generate",
            "--model",
            model,
            "--prompt",
            "Hello",
            "--prompt",
            "The sky is",
            "--max-new-tokens",
            "4",
            "--temperature",
            "0.8",
            "--seed",
            "9",
            "--logprobs");
    assertEquals(run.out(), again.out());
  }

  @Test
  void theGenerateJobsSamplingControlsShapeTheCliOutput() throws Exception {
    List<String> base = List.of("generate", "--model", model, "--prompt", "Hello");
    List<String> sampled =
        plus(base, "--max-new-tokens", "4", "--temperature", "0.8", "--seed", "9");
    JsonNode single = first(args(sampled));
    JsonNode r = first(args(sampled, "--n", "3", "--top-logprobs", "2"));
    JsonNode samples = r.get("samples");
    assertEquals(3, samples.size());
    assertEquals(single.get("text"), r.get("text"), "the top level is sample 0");
    assertEquals(single.get("text"), samples.get(0).get("text"), "sample 0 is the n = 1 output");
    for (JsonNode sample : samples) {
      JsonNode top = sample.get("top_logprobs");
      assertEquals(sample.get("completion_tokens").asInt(), top.size(), sample.toString());
      for (JsonNode position : top) {
        assertEquals(2, position.size());
        assertTrue(position.get(0).get("token_id").isInt(), position.toString());
        assertTrue(
            position.get(0).get("logprob").asDouble() >= position.get(1).get("logprob").asDouble(),
            "most likely first: " + position);
      }
    }

    // The greedy first token, then the controls that name it.
    String greedyToken =
        first(args(base, "--top-logprobs", "1", "--max-new-tokens", "1"))
            .get("top_logprobs")
            .get(0)
            .get(0)
            .get("token_id")
            .asText();
    JsonNode stopped = first(args(base, "--stop-token-ids", "7," + greedyToken));
    assertEquals("stop", stopped.get("finish_reason").asText(), stopped.toString());
    assertEquals(1, stopped.get("completion_tokens").asInt());
    List<String> stopsAtIt = plus(base, "--max-new-tokens", "4", "--stop-token-ids", greedyToken);
    JsonNode atLeast = first(args(stopsAtIt, "--min-tokens", "4"));
    assertEquals(4, atLeast.get("completion_tokens").asInt(), atLeast.toString());
    JsonNode banned = first(args(stopsAtIt, "--logit-bias", "{\"" + greedyToken + "\": -100}"));
    assertEquals("length", banned.get("finish_reason").asText(), banned.toString());

    String greedy = first(args(base, "--max-new-tokens", "12")).get("text").asText();
    for (String penalty : List.of("--presence-penalty", "--frequency-penalty")) {
      // Negative: the greedy text repeats no token, so only a reward for repeats can change it.
      JsonNode penalised = first(args(base, "--max-new-tokens", "12", penalty, "-2"));
      assertNotEquals(greedy, penalised.get("text").asText(), penalty + " changes the text");
    }

    List<String> chat = List.of("chat", "--model", model, "--message", "Hi");
    JsonNode turn =
        first(
            args(
                chat,
                "--max-new-tokens",
                "3",
                "--temperature",
                "0.8",
                "--n",
                "2",
                "--top-logprobs",
                "1"));
    assertEquals(2, turn.get("samples").size(), turn.toString());
    assertEquals(turn.get("completion_tokens").asInt(), turn.get("top_logprobs").size());
  }

  @Test
  void badSamplingControlsAreRefusedByOptionName() {
    List<String> base = List.of("generate", "--model", model, "--prompt", "x");
    Map<List<String>, String> cases =
        Map.of(
            List.of("--top-logprobs", "21"),
            "option --top-logprobs: top_logprobs must be in [0, 20], got 21",
            List.of("--n", "0"),
            "option --n: n must be >= 1, got 0",
            List.of("--presence-penalty", "3"),
            "option --presence-penalty: presence_penalty must be in [-2, 2], got 3.0",
            List.of("--min-tokens", "9", "--max-new-tokens", "4"),
            "option --min-tokens: min_tokens must be in [0, max_new_tokens 4], got 9",
            List.of("--logit-bias", "{\"x\": 1}"),
            "option --logit-bias: logit_bias key 'x' is not a token id",
            List.of("--logit-bias", "{\"5\": 101}"),
            "option --logit-bias: logit_bias of token 5 must be in [-100, 100], got 101.0",
            List.of("--logit-bias", "{5: 1}"),
            "option --logit-bias: not JSON: ",
            List.of("--stop-token-ids", "5,a"),
            "option --stop-token-ids: 'a' is not an integer");
    cases.forEach(
        (more, message) -> {
          Run run = dbrx(args(base, more.toArray(String[]::new)));
          assertEquals(2, run.exit(), more + ": " + run.err());
          assertTrue(run.err().contains(message), message + " in: " + run.err());
          assertEquals("", run.out());
        });
    Run chat = dbrx("chat", "--model", model, "--message", "x", "--top-logprobs", "-1");
    assertEquals(2, chat.exit(), chat.err());
    assertTrue(chat.err().contains("option --top-logprobs: "), chat.err());
  }

  /** The first JSON line of a run that must succeed. */
  private static JsonNode first(String... argv) throws Exception {
    Run run = dbrx(argv);
    assertEquals(0, run.exit(), run.err());
    return run.lines().get(0);
  }

  private static List<String> plus(List<String> base, String... more) {
    List<String> all = new ArrayList<>(base);
    all.addAll(List.of(more));
    return all;
  }

  private static String[] args(List<String> base, String... more) {
    return plus(base, more).toArray(String[]::new);
  }

  @Test
  void chatAnswersEachMessageInTurn() throws Exception {
    Run run =
        dbrx(
            "chat",
            "--model",
            model,
            "--message",
            "Hi",
            "--message",
            "And then?",
            "--max-new-tokens",
            "3");
    assertEquals(0, run.exit(), run.err());
    List<JsonNode> turns = run.lines();
    assertEquals(2, turns.size());
    assertEquals("assistant", turns.get(1).get("role").asText());
    assertTrue(
        turns.get(1).get("prompt_tokens").asInt() > turns.get(0).get("prompt_tokens").asInt());
  }

  @Test
  void scoreAndEmbedReportPerTextResults() throws Exception {
    Run score =
        dbrx(
            "score",
            "--model",
            model,
            "--text",
            "one two three",
            "--text",
            "x",
            "--prefix",
            "Count:");
    assertEquals(0, score.exit(), score.err());
    JsonNode first = score.lines().get(0);
    assertEquals(3, first.get("token_count").asInt());
    assertEquals(
        Math.exp(-first.get("logprob_mean").asDouble()),
        first.get("perplexity").asDouble(),
        1e-6 * first.get("perplexity").asDouble());
    Run embed = dbrx("embed", "--model", model, "--text", "hello world", "--pooling", "last");
    assertEquals(0, embed.exit(), embed.err());
    assertEquals(64, embed.lines().get(0).get("embedding").size());
  }

  @Test
  void benchReportsThroughputAgainstRooflinesMeasuredInTheSameRun() throws Exception {
    Run run =
        dbrx(
            "bench",
            "--model",
            model,
            "--batches",
            "1,32",
            "--decode-steps",
            "2",
            "--prompt-length",
            "8",
            "--repeats",
            "3",
            "--bandwidth-mib",
            "64");
    assertEquals(0, run.exit(), run.err());
    JsonNode json = run.lines().get(0);
    // The figures' values are the benchmark's business; here, that they are there and agree.
    assertTrue(json.get("decode_tokens_per_s").get("32").isNumber());
    // The memory plan of the settings it ran (the defaults: 32 sequences at the model's context),
    // set against the measured peak.
    JsonNode plan = json.get("plan");
    assertEquals(json.get("weight_bytes").asLong(), plan.get("weights_bytes").asLong());
    assertEquals(32, plan.get("max_sequences").asInt());
    assertEquals("f16", plan.get("kv_dtype").asText());
    assertEquals(
        plan.get("weights_bytes").asLong()
            + plan.get("kv_cache_bytes").asLong()
            + plan.get("activation_bytes").asLong()
            + plan.get("jvm_bytes").asLong(),
        plan.get("total_bytes").asLong());
    assertEquals(
        json.get("peak_rss_bytes").asDouble() / plan.get("total_bytes").asLong(),
        json.get("peak_rss_vs_plan").asDouble(),
        1e-12);
    assertTrue(
        json.get("kv_cache_allocated_bytes").asLong() <= plan.get("kv_cache_bytes").asLong());
    assertTrue(json.get("gemm_f32_flops_per_s").isNumber());
    double roofline =
        json.get("read_bandwidth_bytes_per_s").asDouble()
            / (json.get("active_parameters_per_token").asDouble() * 2);
    assertEquals(roofline, json.get("bandwidth_roofline_tokens_per_s").asDouble(), roofline * 1e-3);
    // Batch 1 is set against the bandwidth measured beside it, pair by pair; the median pair is
    // reported.
    List<Double> ratios = new ArrayList<>();
    for (JsonNode pair : json.get("batch1_pairs")) {
      double pairRoofline =
          pair.get("read_bandwidth_bytes_per_s").asDouble()
              / (json.get("active_parameters_per_token").asDouble() * 2);
      assertEquals(
          pair.get("decode_tokens_per_s").asDouble() / pairRoofline,
          pair.get("ratio").asDouble(),
          1e-9);
      assertTrue(
          pair.get("read_bandwidth_bytes_per_s").asDouble()
              <= json.get("read_bandwidth_bytes_per_s").asDouble());
      ratios.add(pair.get("ratio").asDouble());
    }
    assertEquals(3, ratios.size());
    double bestPairDecode = 0;
    for (JsonNode pair : json.get("batch1_pairs")) {
      bestPairDecode = Math.max(bestPairDecode, pair.get("decode_tokens_per_s").asDouble());
    }
    assertEquals(bestPairDecode, json.get("decode_tokens_per_s").get("1").asDouble());
    Collections.sort(ratios);
    assertEquals(ratios.get(1), json.get("batch1_decode_vs_bandwidth_roofline").asDouble());
    assertTrue(json.get("peak_rss_bytes").isIntegralNumber());
  }

  @Test
  void quantizeWritesAGgufFileTheOtherCommandsLoad() throws Exception {
    String gguf = dir.resolve("tiny-q4_0.gguf").toString();
    Run quantize = dbrx("quantize", "--model", model, "--type", "q4_0", "--output", gguf);
    assertEquals(0, quantize.exit(), quantize.err());
    JsonNode result = quantize.lines().get(0);
    assertEquals("q4_0", result.get("type").asText());
    assertEquals(0, result.get("fallbacks").size());
    Run generate = dbrx("generate", "--model", gguf, "--prompt", "Hello", "--max-new-tokens", "3");
    assertEquals(0, generate.exit(), generate.err());
    assertEquals(1, generate.lines().size());
    // tiny's rows (64 and 96 long) are not whole K-quant blocks of 256: Q8_0 stands in.
    Run kMix = dbrx("quantize", "--model", model, "--type", "q4_k_m", "--output", gguf + "2");
    assertEquals(0, kMix.exit(), kMix.err());
    assertEquals("q8_0", kMix.lines().get(0).get("fallbacks").get("token_embd.weight").asText());
    Run badType = dbrx("quantize", "--model", model, "--type", "q3_k", "--output", gguf + "3");
    assertEquals(2, badType.exit());
    assertTrue(
        badType.err().contains("'q3_k' is not q8_0, q4_0, q4_k_m, q5_k_m, bf16, f16 or f32"),
        badType.err());
  }

  @Test
  void quantizeWritesPartsThatLoadFromTheFirstAsTheWholeFile() throws Exception {
    String whole = dir.resolve("whole.gguf").toString();
    assertEquals(0, dbrx("quantize", "--model", model, "--type", "q8_0", "--output", whole).exit());
    String tiny = dir.resolve("tiny.gguf").toString();
    Run split = dbrx("quantize", "--model", model, "--output", tiny, "--split-max-size", "5M");
    assertEquals(0, split.exit(), split.err());
    JsonNode result = split.lines().get(0);
    String first = dir.resolve("tiny-00001-of-00003.gguf").toString();
    assertEquals(first, result.get("output").asText());
    assertEquals(3, result.get("parts").size());
    assertNull(result.get("left_in_place"));
    // Written again in two parts: the first split's three parts are named, not read or removed.
    Run again = dbrx("quantize", "--model", model, "--output", tiny, "--split-max-size", "8M");
    assertEquals(0, again.exit(), again.err());
    JsonNode twoParts = again.lines().get(0);
    assertEquals(2, twoParts.get("parts").size());
    List<String> earlier = new ArrayList<>();
    twoParts.get("left_in_place").forEach(file -> earlier.add(file.asText()));
    assertEquals(
        List.of(
            dir.resolve("tiny-00001-of-00003.gguf").toString(),
            dir.resolve("tiny-00002-of-00003.gguf").toString(),
            dir.resolve("tiny-00003-of-00003.gguf").toString()),
        earlier);
    assertTrue(again.err().contains("quantize: left in place"), again.err());
    Run fromParts =
        dbrx("generate", "--prompt", "Hello", "--max-new-tokens", "4", "--model", first);
    assertEquals(0, fromParts.exit(), fromParts.err());
    assertEquals(
        dbrx("generate", "--prompt", "Hello", "--max-new-tokens", "4", "--model", whole).out(),
        fromParts.out());
    Run zero =
        dbrx("quantize", "--model", model, "--output", whole + "2", "--split-max-size", "0G");
    assertEquals(2, zero.exit());
    assertTrue(zero.err().contains("option --split-max-size: '0G' is not a size"), zero.err());
  }

  @Test
  void tokenizeNeedsNoModel() throws Exception {
    Run run = dbrx("tokenize", "--text", "hello world");
    assertEquals(0, run.exit(), run.err());
    assertEquals("[15339,1917]", run.lines().get(0).get("ids").toString());
  }

  @Test
  void optionsTakeTheirValueAfterAnEqualsSignToo() throws Exception {
    Run run = dbrx("tokenize", "--text=hello world");
    assertEquals(0, run.exit(), run.err());
    assertEquals("[15339,1917]", run.lines().get(0).get("ids").toString());
    String special = dbrx("tokenize", "--text", "<|im_end|>", "--allow-special").out();
    String plain = dbrx("tokenize", "--text", "<|im_end|>").out();
    assertNotEquals(plain, special);
    assertEquals(special, dbrx("tokenize", "--text", "<|im_end|>", "--allow-special=true").out());
    assertEquals(plain, dbrx("tokenize", "--text", "<|im_end|>", "--allow-special=false").out());
    Run twice = dbrx("tokenize", "--input=a.txt", "--input", "b.txt");
    assertEquals(2, twice.exit());
    assertTrue(twice.err().contains("option --input given twice"), twice.err());
  }

  @Test
  void theCompletionScriptNamesEveryCommandAndItsOptions() {
    Run run = dbrx("completion");
    assertEquals(0, run.exit(), run.err());
    for (String command : DbrxCli.commandNames()) {
      int start = run.out().indexOf("function _picocli_dbrx_" + command + "()");
      assertTrue(start >= 0, command);
      int end = run.out().indexOf("\nfunction ", start + 1);
      String function = run.out().substring(start, end < 0 ? run.out().length() : end);
      dbrx(command, "--help")
          .out()
          .lines()
          .map(String::trim)
          .filter(l -> l.startsWith("--"))
          .map(l -> l.split(" ")[0])
          .forEach(option -> assertTrue(function.contains(option), command + " " + option));
    }
  }

  @Test
  void helpListsEveryOptionWithItsDefault() {
    Run run = dbrx("generate", "--help");
    assertEquals(0, run.exit());
    assertTrue(run.out().contains("--max-new-tokens VALUE"), run.out());
    assertTrue(run.out().contains("(default: 128)"), run.out());
    assertTrue(run.out().contains("--model VALUE"), run.out());
    assertTrue(run.out().contains("(required)"), run.out());
    String system = run.out().lines().filter(l -> l.contains("--system")).findFirst().orElseThrow();
    assertFalse(system.contains("(required)"), system);
  }

  @Test
  void badCommandLinesExitWithTwoAndSayWhy() {
    Run unknownCommand = dbrx("frobnicate");
    assertEquals(2, unknownCommand.exit());
    assertTrue(unknownCommand.err().contains("unknown command 'frobnicate'"));
    Run unknownOption = dbrx("generate", "--model", model, "--prompt", "x", "--temprature", "1");
    assertEquals(2, unknownOption.exit());
    assertTrue(unknownOption.err().contains("unknown option --temprature"), unknownOption.err());
    Run missing = dbrx("score", "--text", "x");
    assertEquals(2, missing.exit());
    assertTrue(missing.err().contains("missing required option --model"), missing.err());
    Run gpu = dbrx("generate", "--model", model, "--prompt", "x", "--device", "cuda:0");
    assertEquals(2, gpu.exit());
    assertTrue(
        gpu.err()
            .contains(
                "option --device: device 'cuda:0': no backend for 'cuda' is on the class path"),
        gpu.err());
    Run notADevice = dbrx("generate", "--model", model, "--prompt", "x", "--device", "gpu0");
    assertEquals(2, notADevice.exit());
    assertTrue(
        notADevice
            .err()
            .contains(
                "device 'gpu0': not a device name; use auto, cpu or KIND[:N], such as cuda:0"),
        notADevice.err());
    Run badValue = dbrx("generate", "--model", model, "--prompt", "x", "--top-p", "2");
    assertEquals(2, badValue.exit());
    assertTrue(badValue.err().contains("top_p must be in (0, 1], got 2.0"), badValue.err());
  }

  @Test
  void aMissingCheckpointFailsWithExitOneNamingTheFile() {
    Run run = dbrx("score", "--model", dir.resolve("nowhere").toString(), "--text", "a b");
    assertEquals(1, run.exit());
    assertTrue(run.err().contains("nowhere"), run.err());
    assertEquals("", run.out());
  }

  @Test
  void planSizesDbrxInstructFromItsConfigAlone() throws Exception {
    Path instruct = Path.of(getClass().getResource("/dbrx-instruct").toURI());
    Run run =
        dbrx(
            "plan",
            "--model",
            instruct.toString(),
            "--max-sequences",
            "32",
            "--max-seq-len",
            "4096",
            "--kv-dtype",
            "f16");
    assertEquals(0, run.exit(), run.err());
    JsonNode json = run.lines().get(0);
    assertEquals("config.json", json.get("weights_from").asText());
    assertEquals(263_193_047_040L, json.get("weights_bytes").asLong());
    assertEquals(20L << 30, json.get("kv_cache_bytes").asLong());
    long total =
        json.get("weights_bytes").asLong()
            + json.get("kv_cache_bytes").asLong()
            + json.get("activation_bytes").asLong()
            + json.get("jvm_bytes").asLong();
    assertEquals(total, json.get("total_bytes").asLong());
    assertEquals(total <= json.get("host_memory_bytes").asLong(), json.get("fits").asBoolean());
  }

  @Test
  void planOnAGpuComparesTheDevicePartWithItsFreeMemory() throws Exception {
    Path instruct = Path.of(getClass().getResource("/dbrx-instruct").toURI());
    // fixedmem:N (a test device kind) reports N MiB free of 80 GiB.
    Run tooSmall =
        dbrx(
            "plan",
            "--model",
            instruct.toString(),
            "--device",
            "fixedmem:8192",
            "--kv-dtype",
            "f16");
    assertEquals(0, tooSmall.exit(), tooSmall.err());
    JsonNode json = tooSmall.lines().get(0);
    assertEquals("fixedmem:8192", json.get("device").asText());
    assertEquals(8L << 30, json.get("device_free_bytes").asLong());
    assertEquals(
        json.get("weights_bytes").asLong()
            + json.get("kv_cache_bytes").asLong()
            + json.get("activation_bytes").asLong()
            + json.get("device_workspace_bytes").asLong(),
        json.get("device_needed_bytes").asLong());
    assertFalse(json.get("device_fits").asBoolean());
    assertTrue(
        tooSmall.err().contains("fixedmem:8192: the model needs ")
            && tooSmall.err().contains("the weights alone do not fit"),
        tooSmall.err());
    Run fits = dbrx("plan", "--model", model, "--device", "fixedmem:4096", "--max-sequences", "2");
    assertTrue(fits.lines().get(0).get("device_fits").asBoolean(), fits.out());
    // auto is the CPU where no CUDA backend can be used; the CPU plan has no device part.
    JsonNode auto = dbrx("plan", "--model", model).lines().get(0);
    assertEquals("cpu", auto.get("device").asText());
    assertFalse(auto.has("device_fits"));
  }

  @Test
  void planSizesDbrxInstructInEachGgufFormatAndReadsAGgufFile() throws Exception {
    Path instruct = Path.of(getClass().getResource("/dbrx-instruct").toURI());
    Run q4km =
        dbrx(
            "plan",
            "--model",
            instruct.toString(),
            "--weights-type",
            "q4_k_m",
            "--max-sequences",
            "32",
            "--max-seq-len",
            "4096");
    assertEquals(0, q4km.exit(), q4km.err());
    assertEquals("--weights-type q4_k_m", q4km.lines().get(0).get("weights_from").asText());
    Run bad = dbrx("plan", "--model", instruct.toString(), "--weights-type", "q3_k_s");
    assertEquals(2, bad.exit());
    assertTrue(bad.err().contains("option --weights-type: 'q3_k_s' is not q8_0"), bad.err());
    String gguf = dir.resolve("plan-q8_0.gguf").toString();
    assertEquals(0, dbrx("quantize", "--model", model, "--type", "q8_0", "--output", gguf).exit());
    Run fromFile = dbrx("plan", "--model", gguf, "--max-sequences", "2");
    assertEquals(0, fromFile.exit(), fromFile.err());
    JsonNode json = fromFile.lines().get(0);
    assertEquals("gguf", json.get("weights_from").asText());
    assertEquals(
        json.get("weights_bytes").asLong(),
        dbrx("plan", "--model", model, "--weights-type", "q8_0", "--max-sequences", "2")
            .lines()
            .get(0)
            .get("weights_bytes")
            .asLong());
  }

  @Test
  void planReadsTheWeightsOfACheckpointAndRuntimeOptionsAreChecked() throws Exception {
    Run plan = dbrx("plan", "--model", model, "--kv-dtype", "bf16", "--max-sequences", "2");
    assertEquals(0, plan.exit(), plan.err());
    JsonNode json = plan.lines().get(0);
    assertEquals("safetensors", json.get("weights_from").asText());
    assertEquals(2 * 13_461_824L, json.get("weights_bytes").asLong());
    assertTrue(json.get("fits").asBoolean());
    Run badDtype = dbrx("plan", "--model", model, "--kv-dtype", "f8");
    assertEquals(2, badDtype.exit());
    assertTrue(
        badDtype.err().contains("unknown KV cache dtype 'f8' (known: f32, f16, bf16)"),
        badDtype.err());
    Run tooLong = dbrx("generate", "--model", model, "--prompt", "x", "--max-seq-len", "5000");
    assertEquals(1, tooLong.exit());
    assertTrue(
        tooLong.err().contains("max_seq_len 5000 is over the model's max_seq_len 1024"),
        tooLong.err());
    Run capped =
        dbrx(
            "generate",
            "--model",
            model,
            "--prompt",
            "one two three four five six",
            "--max-seq-len",
            "4");
    assertEquals(0, capped.exit(), capped.err());
    assertTrue(
        capped.lines().get(0).get("error").asText().contains("over the limit of 3 (max_seq_len 4)"),
        capped.out());
  }
}
