// fwknop's message types, declared once (lib/spa/message-types.ts): the numbers fwknop uses, what
// each carries, and the codec, NAT decision and gate all reading the same table.

import t from 'tap';
import { accessType, kindOf, MESSAGE_KINDS } from '../../lib/spa/message-types.js';
import { MSG_TYPE } from '../../lib/spa/message.js';
import { isNatType } from '../../lib/matcher/spa-nat.js';

t.test('the table: fwknop numbers, names and fields', async (t) => {
  t.same(MESSAGE_KINDS.map((k) => k.type), [0, 1, 2, 3, 4, 5, 6], 'types 0..6, each at its own index');
  for (const [name, type] of Object.entries(MSG_TYPE)) t.equal(kindOf(type)?.name, name, `${name} is type ${type}`);
  t.same(MESSAGE_KINDS.filter((k) => k.command).map((k) => k.type), [0], 'only type 0 is a command');
  t.same(MESSAGE_KINDS.filter((k) => k.clientTimeout).map((k) => k.type), [3, 4, 6], 'client timeout: 3, 4, 6');
  t.same(MESSAGE_KINDS.filter((k) => k.nat === 'forward').map((k) => k.type), [2, 4], 'NAT forward: 2, 4');
  t.same(MESSAGE_KINDS.filter((k) => k.nat === 'local').map((k) => k.type), [5, 6], 'local NAT: 5, 6');
  for (const bad of [-1, 7, 8, 99, 1.5, NaN]) t.equal(kindOf(bad), undefined, `${bad}: no such type`);
});

t.test('access types from their fields, as fwknop numbers them', async (t) => {
  t.equal(accessType(undefined, false), 1);
  t.equal(accessType(undefined, true), 3);
  t.equal(accessType('forward', false), 2);
  t.equal(accessType('forward', true), 4);
  t.equal(accessType('local', false), 5);
  t.equal(accessType('local', true), 6);
});

t.test('the NAT decision reads the same table', async (t) => {
  t.same([0, 1, 2, 3, 4, 5, 6, 7].map(isNatType), [false, false, true, false, true, true, true, false]);
});
