/**
 * The agent frameworks (AI SDK 7, LangChain JS, OpenAI Agents SDK) through
 * every surface to every upstream model family.
 */
import { describe } from 'vitest';
import { agentsSdkDrivers, aiSdkDrivers, langchainDrivers } from './frameworks.js';
import { registerDrivers, useHarness } from './harness.js';

const { recorder, harness } = useHarness(import.meta.filename);

describe('AI SDK 7', () => registerDrivers(recorder, aiSdkDrivers, harness));
describe('LangChain JS', () => registerDrivers(recorder, langchainDrivers, harness));
describe('OpenAI Agents SDK', () => registerDrivers(recorder, agentsSdkDrivers, harness));
