package dev.kiln.buildpack;

import java.util.List;
import java.util.Set;

/**
 * The package manager a build uses.
 *
 * @param name {@code pip}, {@code pipenv}, {@code poetry}, {@code uv} or {@code pylock} (a PEP 751
 *     lock, which names no tool)
 * @param variant how it installs (locked Pipenv, Pipenv from a Pipfile alone, pip from
 *     requirements.txt, pip installing the project's setup.py)
 * @param filesFound every package-manager file found, in checking order
 * @param requirementFiles the files the installer reads
 * @param requirementsPackages for pip with requirements files: the names they install; else null
 */
record PackageManagerChoice(
    String name,
    Variant variant,
    List<String> filesFound,
    List<String> requirementFiles,
    Set<String> requirementsPackages) {

  enum Variant {
    PIPENV_LOCKED,
    PIPENV_UNLOCKED,
    PIP_REQUIREMENTS,
    PIP_SETUP_PY,
    POETRY,
    UV,
    PYLOCK
  }

  static final String PIP = "pip";
  static final String PIPENV = "pipenv";
  static final String POETRY = "poetry";
  static final String UV = "uv";
  static final String PYLOCK = "pylock";
}
