import { methodChecks } from './checks.ts';

methodChecks('bias');
