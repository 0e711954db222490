import { costLimitRule } from '@escape.tech/graphql-armor-cost-limit';
import {
  type ASTVisitor,
  type DocumentNode,
  GraphQLError,
  Kind,
  type ValidationContext,
  type ValueNode,
  validate,
  visit,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';

/**
 * The cost limit's options, shared by armor's rule and the variable-aware check below. Sized for
 * the console's heaviest query at the largest page (the overview of 100 providers costs about
 * 19,400; test/graphql-limits.test.ts checks every console query against it).
 */
export const COST_LIMIT = { maxCost: 25_000 };

const LIST_SIZE_ARGS = new Set(['first', 'last']);

/** The operations' variable defaults, so `$n: Int = 1000` counts when `n` is not sent. */
function defaultValues(document: DocumentNode): Map<string, ValueNode> {
  const defaults = new Map<string, ValueNode>();
  for (const definition of document.definitions) {
    if (definition.kind !== Kind.OPERATION_DEFINITION) continue;
    for (const variable of definition.variableDefinitions ?? []) {
      if (variable.defaultValue) defaults.set(variable.variable.name.value, variable.defaultValue);
    }
  }
  return defaults;
}

/**
 * The document with every `first: $n` / `last: $n` replaced by the literal the request sends
 * (or the variable's default). A value that is not an integer is left alone: variable coercion
 * refuses it later anyway.
 */
export function withListSizesFromVariables(
  document: DocumentNode,
  variables: Record<string, unknown>,
): DocumentNode {
  const defaults = defaultValues(document);
  return visit(document, {
    Argument(node) {
      if (!LIST_SIZE_ARGS.has(node.name.value) || node.value.kind !== Kind.VARIABLE) return undefined;
      const name = node.value.name.value;
      const sent = variables[name];
      if (typeof sent === 'number' && Number.isInteger(sent)) {
        return { ...node, value: { kind: Kind.INT, value: String(sent) } };
      }
      if (sent === undefined && defaults.get(name)?.kind === Kind.INT) {
        return { ...node, value: defaults.get(name) };
      }
      return undefined;
    },
  }) as DocumentNode;
}

/** By document: Yoga's parser cache hands the same DocumentNode to every request sending the same text. */
const listSizeVariablesOf = new WeakMap<DocumentNode, string[]>();

function listSizeVariables(document: DocumentNode): string[] {
  let names = listSizeVariablesOf.get(document);
  if (!names) {
    names = collectListSizeVariables(document);
    listSizeVariablesOf.set(document, names);
  }
  return names;
}

function collectListSizeVariables(document: DocumentNode): string[] {
  const names = new Set<string>();
  visit(document, {
    Argument(node) {
      if (LIST_SIZE_ARGS.has(node.name.value) && node.value.kind === Kind.VARIABLE)
        names.add(node.value.name.value);
    },
  });
  return [...names].sort();
}

/**
 * graphql-armor's cost limit multiplies a list's cost by `first`/`last` only when they are
 * literals; `providers(first: $n)` with n = 10^6 would cost as much as `first: 1`. This adds a
 * validation rule that runs armor's own rule on the document with the request's values written
 * in. Yoga caches validation results by document and by the rules' names, so the rule's name
 * carries the values: a document validated with n = 2 is not taken as valid for n = 10^6.
 */
export function useVariableAwareCostLimit(): Plugin {
  return {
    onValidate: ({ params, context, addValidationRule }) => {
      const names = listSizeVariables(params.documentAST);
      if (names.length === 0) return;
      const variables =
        (context as { params?: { variables?: Record<string, unknown> | null } }).params?.variables ?? {};
      const key = JSON.stringify(names.map((name) => [name, variables[name] ?? null]));
      const rule = (ctx: ValidationContext): ASTVisitor => ({
        Document: {
          enter(document) {
            validate(ctx.getSchema(), withListSizesFromVariables(document, variables), [
              costLimitRule({
                ...COST_LIMIT,
                propagateOnRejection: false,
                onReject: [
                  (_inner, error) =>
                    ctx.reportError(
                      new GraphQLError(error.message.replace(/^Syntax Error: /, ''), {
                        extensions: { code: 'QUERY_TOO_COMPLEX' },
                      }),
                    ),
                ],
              }),
            ]);
          },
        },
      });
      Object.defineProperty(rule, 'name', { value: `VariableCostLimit${key}` });
      addValidationRule(rule);
    },
  };
}
