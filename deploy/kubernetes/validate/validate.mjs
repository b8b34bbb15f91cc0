// Validates Kubernetes manifests against the official Kubernetes and KEDA schemas, as shipped by
// the npm packages kubernetes-models and @kubernetes-models/keda (generated from the Kubernetes
// OpenAPI and KEDA's CRDs). Usage: node validate.mjs FILE.yaml...
// Prints one line per document ("ok <file> <kind>/<name>") or what is wrong with it, and exits 1
// when any document is invalid or of a kind it has no schema for.
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";
import * as core from "kubernetes-models/v1";
import * as apps from "kubernetes-models/apps/v1";
import * as policy from "kubernetes-models/policy/v1";
import * as keda from "@kubernetes-models/keda/keda.sh/v1alpha1";

const groups = { v1: core, "apps/v1": apps, "policy/v1": policy, "keda.sh/v1alpha1": keda };

let failures = 0;
for (const file of process.argv.slice(2)) {
  const documents = parseAllDocuments(readFileSync(file, "utf8"));
  for (const document of documents) {
    if (document.errors.length > 0) {
      console.log(`invalid ${file}: not YAML: ${document.errors[0].message}`);
      failures++;
      continue;
    }
    const object = document.toJS();
    if (object == null) continue;
    const where = `${file} ${object.kind}/${object.metadata?.name}`;
    const model = groups[object.apiVersion]?.[object.kind];
    if (typeof model !== "function") {
      console.log(`invalid ${where}: no schema for apiVersion ${object.apiVersion} kind ${object.kind}`);
      failures++;
      continue;
    }
    try {
      new model(object).validate();
      console.log(`ok ${where}`);
    } catch (error) {
      const details = (error.errors ?? [])
        .map((e) => `${e.instancePath || "/"} ${e.message}${e.params?.additionalProperty ? ` (${e.params.additionalProperty})` : ""}`)
        .join("; ");
      console.log(`invalid ${where}: ${details || error.message}`);
      failures++;
    }
  }
}
process.exit(failures === 0 ? 0 : 1);
