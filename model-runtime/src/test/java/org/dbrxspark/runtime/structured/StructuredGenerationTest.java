package org.dbrxspark.runtime.structured;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.Error;
import com.networknt.schema.InputFormat;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import org.dbrxspark.runtime.engine.Engine;
import org.dbrxspark.runtime.engine.EngineOptions;
import org.dbrxspark.runtime.engine.FinishReason;
import org.dbrxspark.runtime.engine.GenerationRequest;
import org.dbrxspark.runtime.engine.GenerationResult;
import org.dbrxspark.runtime.engine.SamplingParams;
import org.dbrxspark.runtime.kernels.CpuBackend;
import org.dbrxspark.runtime.model.DbrxModel;
import org.dbrxspark.runtime.tokenizer.DbrxTokenizer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Constrained generation with the random-weight golden checkpoint that has the full DBRX
 * vocabulary: whatever the weights, every finished output must match its format.
 */
class StructuredGenerationTest {
  private static final ObjectMapper STRICT =
      new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
  private static final SchemaRegistry VALIDATORS =
      SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12);

  /** Five schemas: flat, enums, nested objects and arrays, a top-level array, const and null. */
  static final List<String> SCHEMAS =
      List.of(
          """
      {"type": "object", "additionalProperties": false, "required": ["name", "age"],
       "properties": {"name": {"type": "string", "maxLength": 12}, "age": {"type": "integer"},
                      "email": {"type": "string", "maxLength": 20}}}""",
          """
      {"type": "object", "required": ["status", "priority"],
       "properties": {"status": {"enum": ["active", "inactive", "pending"]},
                      "priority": {"type": "integer", "enum": [1, 2, 3]},
                      "tags": {"type": "array", "items": {"enum": ["red", "green", "blue"]}, "maxItems": 3}}}""",
          """
      {"type": "object", "required": ["user", "meta"],
       "properties": {
         "user": {"type": "object", "required": ["id", "roles"],
                  "properties": {"id": {"type": "integer"},
                                 "roles": {"type": "array", "items": {"enum": ["admin", "user"]}, "minItems": 1, "maxItems": 3}}},
         "meta": {"type": "object", "required": ["score", "ok", "note"],
                  "properties": {"score": {"type": "number"}, "ok": {"type": "boolean"},
                                 "note": {"type": ["string", "null"], "maxLength": 8}}}}}""",
          """
      {"type": "array", "minItems": 1, "maxItems": 4,
       "items": {"type": "object", "required": ["x", "y"],
                 "properties": {"x": {"type": "number"}, "y": {"type": "number"}}}}""",
          """
      {"type": "object", "required": ["version", "flags", "label", "nothing"],
       "properties": {"version": {"const": "1.0"}, "flags": {"type": "array", "items": {"type": "boolean"}, "maxItems": 5},
                      "label": {"type": "string", "minLength": 2, "maxLength": 6}, "nothing": {"type": "null"}}}""");

  private static CpuBackend kernels;
  private static DbrxModel model;
  private static int[] prompt;

  @BeforeAll
  static void load() throws Exception {
    kernels = new CpuBackend(2);
    model =
        DbrxModel.load(
            Path.of(
                StructuredGenerationTest.class.getResource("/golden/tiny-fullvocab-bf16").toURI()),
            kernels);
    prompt = DbrxTokenizer.shared().encode("Reply with JSON:");
  }

  @AfterAll
  static void close() {
    model.close();
    kernels.close();
  }

  private static List<GenerationResult> generate(List<GenerationRequest> requests) {
    return new Engine(model, DbrxTokenizer.shared(), new EngineOptions(2048, 32))
        .generate(requests);
  }

  private static SamplingParams.Builder random(long seed, CompiledFormat format) {
    return SamplingParams.builder()
        .temperature(1.0)
        .seed(seed)
        .maxNewTokens(160)
        .responseFormat(format);
  }

  @Test
  void twoHundredRandomGenerationsOverFiveSchemasAllValidate() throws Exception {
    List<GenerationRequest> requests = new ArrayList<>();
    List<Schema> validators = new ArrayList<>();
    for (int s = 0; s < SCHEMAS.size(); s++) {
      CompiledFormat format = CompiledFormat.compile(ResponseFormat.jsonSchema(SCHEMAS.get(s)));
      System.out.println("schema " + s + ": " + format.stats());
      for (int seed = 0; seed < 40; seed++) {
        requests.add(new GenerationRequest(prompt, random(1000L * s + seed, format).build()));
        validators.add(VALIDATORS.getSchema(SCHEMAS.get(s), InputFormat.JSON));
      }
    }
    List<GenerationResult> results = generate(requests);
    int complete = 0;
    for (int i = 0; i < results.size(); i++) {
      GenerationResult r = results.get(i);
      if (r.incomplete()) {
        assertEquals(FinishReason.LENGTH, r.finishReason(), r.text());
        continue;
      }
      complete++;
      assertEquals(FinishReason.STOP, r.finishReason(), r.text());
      STRICT.readTree(r.text());
      List<Error> errors = validators.get(i).validate(r.text(), InputFormat.JSON);
      assertTrue(errors.isEmpty(), r.text() + " -> " + errors);
    }
    System.out.println(
        complete
            + " of "
            + results.size()
            + " generations complete; e.g. "
            + results.get(80).text());
    assertTrue(complete >= 190, complete + " of 200 complete");
  }

  @Test
  void regexOutputsMatchWholly() {
    String regex = "[A-Z][a-z]{1,6}( [0-9]{1,3})?\\.|\"[α-ω]{1,4}\"\\n";
    CompiledFormat format = CompiledFormat.compile(ResponseFormat.regex(regex));
    Pattern java = Pattern.compile(regex);
    List<GenerationRequest> requests = new ArrayList<>();
    for (int seed = 0; seed < 40; seed++) {
      requests.add(new GenerationRequest(prompt, random(seed, format).build()));
    }
    for (GenerationResult r : generate(requests)) {
      assertFalse(r.incomplete(), r.text());
      assertTrue(java.matcher(r.text()).matches(), r.text());
    }
  }

  @Test
  void choicesAreTakenWhole() {
    List<String> choices = List.of("yes", "no", "not sure", "naïve ✓");
    CompiledFormat format = CompiledFormat.compile(ResponseFormat.choice(choices));
    List<GenerationRequest> requests = new ArrayList<>();
    for (int seed = 0; seed < 40; seed++) {
      requests.add(new GenerationRequest(prompt, random(seed, format).build()));
    }
    for (GenerationResult r : generate(requests)) {
      assertEquals(FinishReason.STOP, r.finishReason());
      assertTrue(choices.contains(r.text()), r.text());
    }
  }

  @Test
  void aRowCutOffByMaxTokensIsFlaggedIncomplete() {
    CompiledFormat format =
        CompiledFormat.compile(
            ResponseFormat.jsonSchema(
                "{\"type\": \"object\", \"required\": [\"text\"], \"properties\": {\"text\": {\"type\": \"string\", \"minLength\": 40}}}"));
    GenerationResult cut =
        generate(List.of(new GenerationRequest(prompt, random(1, format).maxNewTokens(3).build())))
            .get(0);
    assertEquals(FinishReason.LENGTH, cut.finishReason());
    assertTrue(cut.incomplete());
    assertTrue(cut.text().startsWith("{"), cut.text());
    GenerationResult free =
        generate(List.of(new GenerationRequest(prompt, random(1, null).maxNewTokens(3).build())))
            .get(0);
    assertEquals(FinishReason.LENGTH, free.finishReason());
    assertTrue(free.incomplete());
  }

  @Test
  void aConstrainedRowIsTheSameAloneAndInAMixedBatch() {
    CompiledFormat format = CompiledFormat.compile(ResponseFormat.jsonSchema(SCHEMAS.get(2)));
    GenerationRequest probe = new GenerationRequest(prompt, random(77, format).build());
    GenerationResult alone = generate(List.of(probe)).get(0);
    List<GenerationRequest> crowd = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      crowd.add(
          new GenerationRequest(
              DbrxTokenizer.shared().encode("other prompt " + i),
              random(i, i % 2 == 0 ? null : format).maxNewTokens(20 + i).build()));
    }
    crowd.add(3, probe);
    GenerationResult batched = generate(crowd).get(3);
    assertArrayEquals(alone.completion(), batched.completion());
    assertEquals(alone.text(), batched.text());
  }
}
