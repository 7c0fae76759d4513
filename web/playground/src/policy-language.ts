// Syntax highlighting for lexgate's policy language: a StreamLanguage tokenizer (no Lezer
// grammar), enough for keywords, strings, money, dates, numbers and comments. The checker, not
// this file, decides what is valid: an unknown word is simply left unstyled.
import { StreamLanguage, type StreamParser, HighlightStyle } from "@codemirror/language";
import { tags as t } from "@lezer/highlight";

// The words of engine/grammar.lark that start or shape declarations and clauses.
const DECLARATIONS = new Set([
  "regime", "part", "parameter", "fine", "rule", "exception", "example", "fact", "record",
  "field", "enum", "define", "derive", "topic", "duty", "obligation", "retention", "rate",
  "applies", "aggregate", "currency", "severity", "kind",
]);
const KEYWORDS = new Set([
  "after", "all", "and", "any", "as", "assessed", "at", "between", "by", "cite", "contains",
  "controllable", "convert", "count", "described", "else", "exactly", "expect", "exposure",
  "facts", "for", "force", "from", "given", "if", "in", "is", "keep", "known", "least", "list",
  "map", "max", "meets", "met", "min", "missing", "no", "not", "note", "of", "or",
  "organisation", "payable", "set", "sum", "then", "times", "to", "until", "unless", "up",
  "violation", "when", "where", "within", "of",
]);
const ATOMS = new Set([
  "true", "false", "none", "allowed", "allowed_with_obligations", "denied", "not_applicable",
  "undetermined",
]);
const UNITS = new Set([
  "million", "billion", "thousand", "hours", "hour", "days", "day", "months", "month", "years",
  "year", "weeks", "week", "minutes", "minute",
]);

const parser: StreamParser<Record<string, never>> = {
  name: "lexgate",
  startState: () => ({}),
  token(stream) {
    if (stream.eatSpace()) return null;
    if (stream.match("#")) {
      stream.skipToEnd();
      return "comment";
    }
    if (stream.peek() === '"') {
      stream.next();
      while (!stream.eol()) {
        const ch = stream.next();
        if (ch === "\\") stream.next();
        else if (ch === '"') break;
      }
      return "string";
    }
    if (stream.match(/^\d{4}-\d{2}-\d{2}\b/)) return "date";
    // Money: a currency code and an amount (EUR 20 million, USD 2,500.50).
    if (stream.match(/^[A-Z]{3}(?=\s+\d)/)) {
      stream.eatSpace();
      stream.match(/^[\d,]+(\.\d+)?/);
      return "money";
    }
    if (stream.match(/^\d[\d,]*(\.\d+)?%?/)) return "number";
    if (stream.match(/^[A-Za-z_][A-Za-z0-9_]*/)) {
      const word = stream.current();
      if (DECLARATIONS.has(word)) return "keyword";
      if (KEYWORDS.has(word)) return "operatorKeyword";
      if (ATOMS.has(word)) return "atom";
      if (UNITS.has(word)) return "unit";
      if (/^[A-Z][A-Z0-9_]+$/.test(word)) return "typeName";
      return "variableName";
    }
    stream.next();
    return "punctuation";
  },
  languageData: { commentTokens: { line: "#" } },
  tokenTable: {
    date: t.special(t.literal),
    money: t.special(t.number),
    unit: t.unit,
  },
};

export const policyLanguage = StreamLanguage.define(parser);

export const policyHighlight = HighlightStyle.define([
  { tag: t.keyword, color: "#7c3aed", fontWeight: "600" },
  { tag: t.operatorKeyword, color: "#2563eb" },
  { tag: t.comment, color: "#6b7280", fontStyle: "italic" },
  { tag: t.string, color: "#047857" },
  { tag: t.number, color: "#b45309" },
  { tag: t.special(t.number), color: "#b45309", fontWeight: "600" },
  { tag: t.special(t.literal), color: "#be185d" },
  { tag: t.atom, color: "#0e7490", fontWeight: "600" },
  { tag: t.unit, color: "#b45309" },
  { tag: t.typeName, color: "#9333ea" },
  { tag: t.punctuation, color: "#4b5563" },
]);
