package dev.kiln.buildpack;

/**
 * Things committed to the source that a build must not build on: a Python install left by an
 * earlier build ({@code .heroku/python/}) and a virtual environment ({@code .venv/}, {@code
 * venv/}). Both were made on another machine, for another Python; each behaviour level says whether
 * it is ignored, warned about or an error.
 */
final class SourceChecks {
  private SourceChecks() {}

  /** Before the package manager is chosen, as the classic buildpack checks it. */
  static void herokuPythonDir(PlanContext context) throws BuildpackException {
    if (context.inspect(".heroku/python").isDirectory()) {
      context.apply(
          context.levelOrDefault().herokuPythonDir(),
          new Diagnostic(
              Codes.SOURCE_HEROKU_PYTHON_DIR,
              "The source contains a .heroku/python/ directory: a Python installation from an"
                  + " earlier build, committed by mistake.\n\n"
                  + "Kiln installs Python and the dependencies itself; a copy in the repository"
                  + " would shadow them and break the app. Remove it from the repository and"
                  + " keep it out:\n"
                  + "  git rm -r --cached .heroku/python\n"
                  + "  echo .heroku/ >> .gitignore\n"
                  + "then commit and push again."));
    }
  }

  /** After the package manager is chosen, as the classic buildpack checks it. */
  static void virtualEnvironment(PlanContext context) throws BuildpackException {
    BuildpackLevel level = context.inputs.level();
    if (level == null) {
      return; // the farm's own rules predate the check
    }
    for (String directory : new String[] {".venv", "venv"}) {
      if (context.inspect(directory + "/pyvenv.cfg").isFile()) {
        context.apply(
            level.venvDir(),
            new Diagnostic(
                Codes.SOURCE_VENV_DIR,
                "The source contains a Python virtual environment ("
                    + directory
                    + "/, with its pyvenv.cfg).\n\n"
                    + "A virtual environment is made on one machine for one Python; it does not"
                    + " work inside the app's image, and Kiln installs the dependencies itself."
                    + " Remove it from the repository and keep it out:\n"
                    + "  git rm -r --cached "
                    + directory
                    + "\n"
                    + "  echo "
                    + directory
                    + "/ >> .gitignore\n"
                    + "then commit and push again."));
        return;
      }
    }
  }
}
