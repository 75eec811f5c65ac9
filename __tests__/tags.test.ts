// The tags that make an instance (and its volumes and group) a hub, the filters that find it,
// and reading one tag back.
import { MANAGED_BY, TAG_HUB, TAG_MANAGED_BY, hubFilters, hubTags, tagValue } from '../src/tags.ts';

test('a hub carries its Name, its hub name and the managed-by mark, then the extra tags', () => {
  expect(hubTags('workshop', { project: 'cs101', 'cost center': '42' })).toEqual([
    { Key: 'Name', Value: 'tljh-workshop' },
    { Key: TAG_HUB, Value: 'workshop' },
    { Key: TAG_MANAGED_BY, Value: MANAGED_BY },
    { Key: 'project', Value: 'cs101' },
    { Key: 'cost center', Value: '42' },
  ]);
  expect(hubTags('pr-7')).toHaveLength(3);
});

test('the filters find the hub by its name and the managed-by mark only', () => {
  expect(hubFilters('workshop')).toEqual([
    { Name: 'tag:tljh:hub', Values: ['workshop'] },
    { Name: 'tag:tljh:managed-by', Values: ['tljh-ec2-action'] },
  ]);
});

test('every tag a hub is launched with is matched by its filters (and not by another hub’s)', () => {
  const tags = hubTags('workshop');
  const matches = (hub: string) =>
    hubFilters(hub).every((f) => f.Values.includes(tagValue(tags, f.Name.slice(4)) ?? ''));
  expect(matches('workshop')).toBe(true);
  expect(matches('workshop2')).toBe(false);
});

test('tagValue reads one key; absent key or no tags is undefined', () => {
  const tags = [
    { Key: 'a', Value: '1' },
    { Key: 'b', Value: '' },
  ];
  expect(tagValue(tags, 'a')).toBe('1');
  expect(tagValue(tags, 'b')).toBe('');
  expect(tagValue(tags, 'c')).toBeUndefined();
  expect(tagValue(undefined, 'a')).toBeUndefined();
});
