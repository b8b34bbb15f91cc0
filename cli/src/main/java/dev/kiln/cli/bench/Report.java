package dev.kiln.cli.bench;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The bench's markdown report: the machine and run, the targets, then one table per measurement.
 */
public final class Report {
  /** One target of issue 11 and whether this run met it; {@code met} null = not measured. */
  public record Target(String what, String target, String measured, Boolean met) {}

  /** One measurement: a heading, a sentence on how it was measured, and its table. */
  public record Section(String title, String how, List<String> header, List<List<String>> rows) {}

  private final String title;
  private final Map<String, String> run = new LinkedHashMap<>();
  private final List<Target> targets = new ArrayList<>();
  private final List<Section> sections = new ArrayList<>();
  private final List<String> notes = new ArrayList<>();

  public Report(String title) {
    this.title = title;
  }

  public Report run(String key, String value) {
    run.put(key, value);
    return this;
  }

  public Report target(Target target) {
    targets.add(target);
    return this;
  }

  public Report section(Section section) {
    sections.add(section);
    return this;
  }

  public Report note(String note) {
    notes.add(note);
    return this;
  }

  /** The report as markdown, its title a level-2 heading. */
  public String markdown() {
    StringBuilder md = new StringBuilder();
    md.append("## ").append(title).append("\n\n");
    for (var entry : run.entrySet()) {
      md.append("- **").append(entry.getKey()).append("**: ").append(entry.getValue()).append('\n');
    }
    md.append('\n');
    if (!targets.isEmpty()) {
      md.append("### Targets (issue 11)\n\n");
      List<List<String>> rows = new ArrayList<>();
      for (Target t : targets) {
        rows.add(
            List.of(
                t.what(),
                t.target(),
                t.measured(),
                t.met() == null ? "not measured" : t.met() ? "met" : "**not met**"));
      }
      table(md, List.of("what", "target", "measured", "met?"), rows);
    }
    for (Section s : sections) {
      md.append("### ").append(s.title()).append("\n\n");
      if (s.how() != null && !s.how().isBlank()) {
        md.append(s.how()).append("\n\n");
      }
      if (s.rows().isEmpty()) {
        md.append("(no figures: the phase did not run)\n\n");
      } else {
        table(md, s.header(), s.rows());
      }
    }
    if (!notes.isEmpty()) {
      md.append("### Notes\n\n");
      for (String note : notes) {
        md.append("- ").append(note).append('\n');
      }
      md.append('\n');
    }
    return md.toString();
  }

  static void table(StringBuilder md, List<String> header, List<List<String>> rows) {
    md.append('|');
    for (String h : header) {
      md.append(' ').append(cell(h)).append(" |");
    }
    md.append("\n|");
    md.append("---|".repeat(header.size()));
    md.append('\n');
    for (List<String> row : rows) {
      md.append('|');
      for (int i = 0; i < header.size(); i++) {
        md.append(' ').append(cell(i < row.size() ? row.get(i) : "")).append(" |");
      }
      md.append('\n');
    }
    md.append('\n');
  }

  private static String cell(String text) {
    return text == null ? "" : text.replace("|", "\\|").replace("\n", " ");
  }

  /**
   * {@code existing} with {@code section} on top: an earlier bench section (from its level-2 title
   * to the next level-2 heading) is replaced; the document's level-1 title stays first.
   */
  public static String mergeInto(String existing, String section, String title) {
    if (existing == null || existing.isBlank()) {
      return "# Benchmarks\n\n" + section;
    }
    String marker = "## " + title;
    String rest = existing;
    int old = rest.indexOf(marker);
    if (old >= 0) {
      int next = rest.indexOf("\n## ", old + marker.length());
      rest = rest.substring(0, old) + (next >= 0 ? rest.substring(next + 1) : "");
    }
    if (rest.startsWith("# ")) {
      int endOfTitle = rest.indexOf('\n');
      String heading = endOfTitle < 0 ? rest : rest.substring(0, endOfTitle);
      String body = endOfTitle < 0 ? "" : rest.substring(endOfTitle + 1).stripLeading();
      return heading + "\n\n" + section + body;
    }
    return section + rest;
  }
}
