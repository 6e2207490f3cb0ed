'use strict';
// The import-direction rule of lib/ (docs/architecture.md): each folder of lib/ is a layer
// and imports only point down, to the layers listed for it below. The native addon is
// loaded by the binding layer alone.
const path = require('path');

/** layer → the layers it may import (besides itself) */
const ALLOWED = {
  common: [],
  binding: ['common'],
  openssl: ['common', 'binding'],
  stores: ['common', 'binding', 'openssl'],
  // the model is pure TypeScript: it loads and runs without the addon
  model: ['common'],
  tls: ['common', 'binding', 'openssl', 'stores'],
  conformance: ['common', 'binding', 'openssl', 'model'],
  // lib/index.ts, lib/cli.ts: the package's entry points see everything
  '': ['common', 'binding', 'openssl', 'stores', 'model', 'tls', 'conformance'],
};
/** modules that load the native addon */
const ADDON = /^bindings$|\.node$/;
/** files of a layer that only some layers above may import: the addon's typed surface */
const RESTRICTED = { 'binding/native': ['binding', 'openssl'] };

function layerOf(libDir, file) {
  const rel = path.relative(libDir, file);
  if (rel.startsWith('..') || path.isAbsolute(rel)) return undefined;
  const parts = rel.split(path.sep);
  return parts.length === 1 ? '' : parts[0];
}

const rule = {
  meta: {
    type: 'problem',
    docs: { description: 'lib/ layers import only the layers below them; only lib/binding loads the addon' },
    schema: [],
    messages: {
      up: "layer '{{from}}' may not import layer '{{to}}' ({{spec}}): imports point down (allowed: {{allowed}}). See docs/architecture.md.",
      addon: "only lib/binding loads the native addon ('{{spec}}'); go through the binding layer",
      native: "'{{spec}}' is the addon's raw surface, for layers {{only}} only: go through the openssl layer (SslContext, SslSession, ...)",
      reexport: "'{{name}}' is part of the addon's raw surface ('{{spec}}'): re-exporting it hands it to the layers above; give them an openssl-layer type instead",
    },
  },
  create(context) {
    const file = context.filename ?? context.getFilename();
    const libDir = path.resolve(context.cwd ?? process.cwd(), 'lib');
    const from = layerOf(libDir, file);
    if (from === undefined) return {};
    /** the file names a module of the addon's raw surface (RESTRICTED) */
    function restricted(spec) {
      if (typeof spec !== 'string' || !spec.startsWith('.')) return undefined;
      const target = path.resolve(path.dirname(file), spec);
      if (layerOf(libDir, target) === undefined) return undefined;
      return RESTRICTED[path.relative(libDir, target).split(path.sep).join('/').replace(/\.(ts|js)$/, '')];
    }
    // names this file imported from the raw surface: exporting one (`export type { X }`,
    // `export type Y = X`) re-exports the surface. The binding layer is where it lives.
    const rawNames = new Map();
    function reexport(node, name, spec) {
      if (from === 'binding') return;
      context.report({ node, messageId: 'reexport', data: { name, spec } });
    }
    function checkExport(n) {
      if (n.source) {
        check(n.source, n.source.value);
        if (restricted(n.source.value)) for (const sp of n.specifiers) reexport(sp, sp.local.name ?? sp.local.value, n.source.value);
        return;
      }
      for (const sp of n.specifiers ?? []) {
        const spec = rawNames.get(sp.local.name);
        if (spec) reexport(sp, sp.local.name, spec);
      }
      const d = n.declaration;
      if (d && d.type === 'TSTypeAliasDeclaration' && d.typeAnnotation.type === 'TSTypeReference' && d.typeAnnotation.typeName.type === 'Identifier') {
        const spec = rawNames.get(d.typeAnnotation.typeName.name);
        if (spec) reexport(d, d.typeAnnotation.typeName.name, spec);
      }
    }
    function check(node, spec) {
      if (typeof spec !== 'string') return;
      if (ADDON.test(spec)) {
        if (from !== 'binding') context.report({ node, messageId: 'addon', data: { spec } });
        return;
      }
      if (!spec.startsWith('.')) return;
      const target = path.resolve(path.dirname(file), spec);
      const to = layerOf(libDir, target);
      if (to === undefined) return;
      const only = RESTRICTED[path.relative(libDir, target).split(path.sep).join('/').replace(/\.(ts|js)$/, '')];
      if (only && !only.includes(from)) {
        context.report({ node, messageId: 'native', data: { spec, only: only.join(', ') } });
        return;
      }
      if (to === from) return;
      const allowed = ALLOWED[from] ?? [];
      if (!allowed.includes(to)) {
        context.report({
          node,
          messageId: 'up',
          data: { from: from || 'lib (entry points)', to: to || 'lib (entry points)', spec, allowed: allowed.join(', ') || 'none' },
        });
      }
    }
    return {
      ImportDeclaration: (n) => {
        check(n.source, n.source.value);
        if (restricted(n.source.value)) for (const sp of n.specifiers) rawNames.set(sp.local.name, n.source.value);
      },
      ExportNamedDeclaration: checkExport,
      ExportAllDeclaration: (n) => {
        check(n.source, n.source.value);
        if (restricted(n.source.value)) reexport(n, '*', n.source.value);
      },
      ImportExpression: (n) => n.source.type === 'Literal' && check(n.source, n.source.value),
      CallExpression: (n) => {
        if (n.callee.type === 'Identifier' && n.callee.name === 'require' && n.arguments[0]?.type === 'Literal') check(n.arguments[0], n.arguments[0].value);
      },
    };
  },
};

module.exports = { ALLOWED, RESTRICTED, plugin: { rules: { 'imports-point-down': rule } } };
