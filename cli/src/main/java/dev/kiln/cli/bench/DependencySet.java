package dev.kiln.cli.bench;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** One of the bench's dependency sets and the app that uses it. */
record DependencySet(String id, List<String> requirements, String procfile, String appTemplate) {
  static final List<DependencySet> ALL =
      List.of(
          new DependencySet(
              "flask",
              List.of("flask", "gunicorn"),
              "web: gunicorn app:app\n",
              "from flask import Flask\n\napp = Flask(__name__)\n\n\n@app.route(\"/\")\n"
                  + "def index():\n    return \"%s\"\n"),
          new DependencySet(
              "django",
              List.of("django", "gunicorn", "psycopg2-binary"),
              "web: gunicorn app:app\n",
              "import django\n\n\ndef app(environ, start_response):\n"
                  + "    start_response(\"200 OK\", [(\"Content-Type\", \"text/plain\")])\n"
                  + "    return [b\"%s \" + django.get_version().encode()]\n"),
          new DependencySet(
              "fastapi",
              List.of("fastapi", "uvicorn"),
              "web: uvicorn app:app --host 0.0.0.0 --port $PORT\n",
              "from fastapi import FastAPI\n\napp = FastAPI()\n\n\n@app.get(\"/\")\n"
                  + "def index():\n    return {\"round\": \"%s\"}\n"),
          new DependencySet(
              "numpy",
              List.of("numpy", "requests"),
              "web: python app.py\n",
              "import numpy\nimport requests\n\nprint(\"%s\", numpy.__version__,"
                  + " requests.__version__)\n"));

  static DependencySet byId(String id) {
    return ALL.stream()
        .filter(s -> s.id().equals(id))
        .findFirst()
        .orElseThrow(() -> new IllegalArgumentException(id));
  }

  String requirementsTxt() {
    return String.join("\n", requirements) + "\n";
  }

  String appPy(String marker) {
    return appTemplate.formatted(marker);
  }

  /** The app's files with the given requirements.txt and a marker that makes app.py differ. */
  Map<String, String> files(String requirementsTxt, String marker) {
    Map<String, String> files = new LinkedHashMap<>();
    files.put("app.py", appPy(marker));
    files.put("Procfile", procfile);
    files.put(".python-version", "3.11\n");
    files.put("requirements.txt", requirementsTxt);
    return files;
  }
}
