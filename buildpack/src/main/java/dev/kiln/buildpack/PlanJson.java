package dev.kiln.buildpack;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The JSON form of a plan. The shape is a contract ({@code kiln plan --json}, build reports):
 * fields may be added, never renamed or removed.
 */
final class PlanJson {
  private static final ObjectMapper JSON =
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private PlanJson() {}

  static ObjectNode toTree(PlanResult plan) {
    ObjectNode root = JSON.createObjectNode();
    root.put("strategy", plan.strategy());
    root.put("sourceDir", plan.sourceDir());
    root.put("dockerfilePath", plan.dockerfilePath());
    if (plan.python() == null) {
      root.putNull("python");
    } else {
      ObjectNode python = root.putObject("python");
      python.put("version", plan.python().version());
      python.put("requested", plan.python().requested());
      python.put("origin", plan.python().origin());
      python.put("image", plan.runtimeImage());
      python.put("glibc", plan.runtime() == null ? null : plan.runtime().glibc());
    }
    root.put("packageManager", plan.packageManager());
    ArrayNode files = root.putArray("packageManagerFiles");
    plan.packageManagerFiles().forEach(files::add);
    ArrayNode requirementFiles = root.putArray("requirementFiles");
    plan.requirementFiles().forEach(requirementFiles::add);
    var processes = root.putObject("processes");
    plan.processes().forEach(processes::put);
    ArrayNode ciInstalls = root.putArray("ciInstalls");
    plan.ciInstalls().forEach(ciInstalls::add);
    if (plan.run() == null) {
      root.putNull("run");
    } else {
      ObjectNode run = root.putObject("run");
      run.put("command", plan.run().command());
      run.put("source", plan.run().source());
    }
    ArrayNode warnings = root.putArray("warnings");
    for (Diagnostic warning : plan.warnings()) {
      ObjectNode node = warnings.addObject();
      node.put("code", warning.code());
      node.put("message", warning.message());
    }
    if (plan.error().isEmpty()) {
      root.putNull("error");
    } else {
      ObjectNode error = root.putObject("error");
      error.put("code", plan.error().get().code());
      error.put("message", plan.error().get().message());
    }
    return root;
  }

  static String write(PlanResult plan) {
    try {
      return JSON.writeValueAsString(toTree(plan));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("a tree of plain values always serializes", e);
    }
  }
}
