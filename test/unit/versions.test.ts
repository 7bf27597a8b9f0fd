// One version source: package.json's version. The chart's version and appVersion, the operator image
// the kustomize Deployment names, the default mover image and the release workflow's tags all follow
// it; the release workflow runs this test with RELEASE_VERSION set to the tag being released.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { DEFAULT_MOVER_IMAGE } from '../../src/config.js';

const version = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;
const tagOf = (image: string) => image.slice(image.lastIndexOf(':') + 1);

describe('the version', () => {
  it('is the same in package.json, the chart, the images and the default mover image', () => {
    const chart = parse(readFileSync('charts/datamover-operator/Chart.yaml', 'utf8')) as {
      version: string;
      appVersion: string;
    };
    expect(chart.version).toBe(version);
    expect(chart.appVersion).toBe(version);
    expect(tagOf(DEFAULT_MOVER_IMAGE)).toBe(version);
    const deployment = parseAllDocuments(readFileSync('config/manager/manager.yaml', 'utf8'))
      .map(
        (d) =>
          d.toJS() as {
            kind?: string;
            spec?: { template: { spec: { containers: Array<{ image: string }> } } };
          },
      )
      .find((d) => d.kind === 'Deployment')!;
    expect(tagOf(deployment.spec!.template.spec.containers[0]!.image)).toBe(version);
    // The chart's image tags default to its appVersion: nothing to drift.
    const values = parse(readFileSync('charts/datamover-operator/values.yaml', 'utf8')) as {
      image: { tag: string };
      defaultMoverImage: string;
    };
    expect(values.image.tag).toBe('');
    expect(values.defaultMoverImage).toBe('');
  });

  it('is what the release workflow tags the images and the chart with', () => {
    const workflow = readFileSync('.github/workflows/release.yml', 'utf8');
    expect(workflow).toContain('operator:${{ steps.version.outputs.version }}');
    expect(workflow).toContain('mover:${{ steps.version.outputs.version }}');
    expect(workflow).toContain('--version "$VERSION" --app-version "$VERSION"');
    expect(workflow).toContain(
      'RELEASE_VERSION="$version" npx vitest run --project unit test/unit/versions.test.ts',
    );
    if (process.env.RELEASE_VERSION) expect(process.env.RELEASE_VERSION).toBe(version);
  });
});
