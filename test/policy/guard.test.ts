import assert from 'node:assert/strict';
import { test } from 'node:test';
import { guardRefusal, tagPatternMatches } from '../../src/policy/guard.js';

const subject = { project: 'shop', component: 'web' };
const open = { requireTags: {}, protectTag: null, regions: null };

test('tag patterns: literals, wildcards, project and component', () => {
  assert.ok(tagPatternMatches('payments', 'payments', subject));
  assert.ok(!tagPatternMatches('payments', 'payments2', subject));
  assert.ok(tagPatternMatches('pay*', 'payments', subject));
  assert.ok(tagPatternMatches('*', '', subject));
  assert.ok(tagPatternMatches('{project}-{component}', 'shop-web', subject));
  assert.ok(tagPatternMatches('{project}-*', 'shop-blue', subject));
  assert.ok(!tagPatternMatches('{project}', 'shop', { project: null, component: 'web' }), 'an unknown project never matches');
  assert.ok(tagPatternMatches('a.b(c)', 'a.b(c)', subject), 'regex characters are literal');
  assert.ok(!tagPatternMatches('a.b', 'axb', subject));
  // A hand-off's values are literal: `project: "*"` is no wildcard.
  assert.ok(!tagPatternMatches('{project}', 'payments', { project: '*', component: null }));
  assert.ok(!tagPatternMatches('{project}-web', 'payments-web', { project: '.*', component: null }));
  assert.ok(tagPatternMatches('{project}', '*', { project: '*', component: null }));
});

test('an unguarded policy refuses nothing', () => {
  assert.equal(guardRefusal(open, { region: 'us-east-1', tags: {} }, subject), null);
});

test('each guard refuses with a reason naming it', () => {
  assert.match(guardRefusal({ ...open, regions: ['eu-west-1'] }, { region: 'us-east-1', tags: {} }, subject)!, /guard\.regions/);
  assert.match(guardRefusal({ ...open, protectTag: 'ddsrv:protect' }, { region: 'us-east-1', tags: { 'ddsrv:protect': '' } }, subject)!, /protect tag/);
  const requireTeam = { ...open, requireTags: { team: 'payments', app: '{project}' } };
  assert.match(guardRefusal(requireTeam, { region: 'us-east-1', tags: { app: 'shop' } }, subject)!, /lacks the required tag 'team'/);
  assert.match(guardRefusal(requireTeam, { region: 'us-east-1', tags: { team: 'search', app: 'shop' } }, subject)!, /'search'.*'payments'/);
  assert.equal(guardRefusal(requireTeam, { region: 'us-east-1', tags: { team: 'payments', app: 'shop' } }, subject), null);
});
