// Dependency rules, checked by `npm run check:deps` (dependency-cruiser) in CI beside the typecheck.
// Type-only imports count (tsPreCompilationDeps): a type that points the wrong way is still a wrong-way
// dependency, and the next change tends to turn it into a value import. Dynamic imports count too.
// Test code (*.test.ts, *.fixture.ts child-process scripts, testing/ folders) may reach across layers to set
// up what it checks; nothing imports it, and it is still held to no-circular.

const TEST_CODE = ['\\.test\\.ts$', '\\.fixture\\.ts$', '(^|/)testing/'];

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'No import cycles. Move what both sides need into a module both can import, or inject it.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'core-not-to-reporters',
      severity: 'error',
      comment:
        'The core (harness/) does not import reporters/: it emits events and takes a run record through an ' +
        'interface (harness/vm-action-record.ts OpenRunRecord). The CLI (harness/cli/) wires the reporters.',
      from: { path: '^harness/', pathNot: ['^harness/cli/', ...TEST_CODE] },
      to: { path: '^reporters/' },
    },
    {
      name: 'iso-not-to-providers',
      severity: 'error',
      comment: 'iso/ builds images, providers boot them: the types both need live in iso/types.ts.',
      from: { path: '^iso/', pathNot: TEST_CODE },
      to: { path: '^harness/providers/' },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment: 'An import the cruiser cannot resolve is an edge it cannot check: fail rather than pass blind.',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|vms|\\.harness|dist)/' }, // dist/: the package build (npm pack)
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.d.ts', '.json'],
    },
  },
};
