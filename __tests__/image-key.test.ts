import {
  builderHubName,
  cachedImageName,
  imageFamily,
  imageKey,
  imagesToPrune,
  isCacheableVersion,
  newestAvailable,
  unusedSince,
  type ImageInputs,
} from '../src/image-key.ts';
import type { CachedImage } from '../src/model.ts';

const base: ImageInputs = {
  tljhVersion: '2.0.0',
  baseImageId: 'ami-0123456789abcdef0',
  architecture: 'amd64',
  plugins: ['git+https://github.com/example/tljh-plugin@v1'],
  userRequirementsUrl: 'https://example.org/requirements.txt',
};

describe('the cache key', () => {
  test('is 16 hex digits, the same for the same inputs', () => {
    expect(imageKey(base)).toMatch(/^[0-9a-f]{16}$/);
    expect(imageKey({ ...base, plugins: [...base.plugins] })).toBe(imageKey(base));
  });

  test.each([
    ['the TLJH version', { tljhVersion: '2.0.1' }],
    ["Canonical's image (a new Ubuntu image)", { baseImageId: 'ami-0fedcba9876543210' }],
    ['the architecture', { architecture: 'arm64' }],
    ['a plugin more', { plugins: [...base.plugins, 'tljh-other'] }],
    ['the requirements URL', { userRequirementsUrl: 'https://example.org/other.txt' }],
    ['no requirements URL', { userRequirementsUrl: undefined }],
  ])('changes with %s', (_what, change) => {
    expect(imageKey({ ...base, ...change })).not.toBe(imageKey(base));
  });

  test('the family ignores only the base image', () => {
    expect(imageFamily({ ...base, baseImageId: 'ami-0fedcba987654321' })).toBe(imageFamily(base));
    expect(imageFamily({ ...base, tljhVersion: '2.0.1' })).not.toBe(imageFamily(base));
    expect(imageFamily({ ...base, architecture: 'arm64' })).not.toBe(imageFamily(base));
    expect(imageFamily({ ...base, plugins: [] })).not.toBe(imageFamily(base));
  });

  test.each([
    ['2.0.0', true],
    ['1.0.0b1', true],
    ['2.1.0rc1', true],
    ['main', false],
    ['2.0.0-102-g84ed38f', false],
    ['v2.0.0', false],
  ])('tljh-version %j is cacheable: %j (a release; a branch moves)', (version, cacheable) => {
    expect(isCacheableVersion(version)).toBe(cacheable);
  });

  test('builder and image names are valid hub and AMI names', () => {
    const key = imageKey(base);
    expect(builderHubName(key)).toMatch(/^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$/);
    // AMI names: 3-128 characters of letters, digits, ()[] ./-'@_
    expect(cachedImageName(key, 'i-0123456789abcdef0')).toMatch(/^[A-Za-z0-9()[\] ./'@_-]{3,128}$/);
  });
});

const image = (id: string, date: string, state = 'available', key = 'k1'): CachedImage => ({
  imageId: id,
  state,
  creationDate: date,
  key,
  family: 'f',
  snapshotIds: [`snap-${id}`],
});

describe('choosing and pruning images', () => {
  test('the newest available image of the key, never a pending or another key', () => {
    const images = [
      image('ami-old', '2026-11-01T00:00:00.000Z'),
      image('ami-new', '2026-12-01T00:00:00.000Z'),
      image('ami-pending', '2026-12-02T00:00:00.000Z', 'pending'),
      image('ami-other', '2026-12-03T00:00:00.000Z', 'available', 'k2'),
    ];
    expect(newestAvailable(images, 'k1')?.imageId).toBe('ami-new');
    expect(newestAvailable(images, 'k3')).toBeUndefined();
  });

  test('keeps the newest N of the family; pending ones are kept, failed ones pruned', () => {
    const images = [
      image('ami-1', '2026-10-01T00:00:00.000Z'),
      image('ami-2', '2026-11-01T00:00:00.000Z', 'available', 'k2'),
      image('ami-3', '2026-12-01T00:00:00.000Z'),
      image('ami-p', '2026-09-01T00:00:00.000Z', 'pending'),
      image('ami-f', '2026-12-02T00:00:00.000Z', 'failed'),
      { ...image('ami-x', '2026-01-01T00:00:00.000Z'), family: 'other' },
    ];
    expect(imagesToPrune(images, 'f', 2).map((i) => i.imageId)).toEqual([
      'ami-2',
      'ami-1',
      'ami-f',
    ]);
    expect(imagesToPrune(images, 'f', 4).map((i) => i.imageId)).toEqual(['ami-f']);
  });
});

describe('images no hub used for a while', () => {
  const before = new Date('2026-11-03T00:00:00Z');
  test('last use decides; an image never used counts from its creation; pending ones stay', () => {
    const images = [
      { ...image('ami-used', '2026-01-01T00:00:00.000Z'), lastUsed: '2026-12-01T00:00:00Z' },
      { ...image('ami-stale', '2026-01-01T00:00:00.000Z'), lastUsed: '2026-10-01T00:00:00Z' },
      image('ami-never-old', '2026-10-01T00:00:00.000Z'),
      image('ami-never-new', '2026-11-20T00:00:00.000Z'),
      image('ami-pending', '2026-01-01T00:00:00.000Z', 'pending'),
    ];
    expect(unusedSince(images, before).map((i) => i.imageId)).toEqual([
      'ami-stale',
      'ami-never-old',
    ]);
  });
});
