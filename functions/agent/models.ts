import { createOpenAI } from '@ai-sdk/openai';
import type { LanguageModel, TranscriptionModel } from 'ai';
import type { Env } from '../env';
import { OFFLINE_MODEL_ID, OfflineDemoModel } from './offline-model';

/** The models one turn uses, and how its trace names them. */
export type AgentModels = {
  chat: LanguageModel;
  /** What agent_runs.model records: `openai:gpt-4.1-mini`, `offline-demo`, … */
  label: string;
  /** The offline demo model: replies are labelled as such in their metadata. */
  offline: boolean;
  /** Voice notes; null when none is available (offline): the agent then sees a marker. */
  transcription: TranscriptionModel | null;
  transcriptionLabel: string | null;
  /** Whether `chat` can look at images (the offline model cannot). */
  vision: boolean;
};

export type ModelChoice = {
  env: Env;
  /** The tenant's model override (agent_settings.model), if any. */
  tenantModel: string | null;
  /** The tenant's own API key, decrypted, if any. */
  tenantApiKey: string | null;
};

/**
 * Chooses the models for a turn. Injectable (`agentTurnJob({ models })`) so tests script a mock
 * model while everything else stays the production path.
 */
export type AgentModelResolver = (choice: ModelChoice) => AgentModels;

/**
 * Production: OpenAI through @ai-sdk/openai, or any OpenAI-compatible server at OPENAI_BASE_URL
 * (chat completions, which every compatible server speaks). The tenant's own key and model win
 * over the deployment's. With no key anywhere, the offline demo model answers.
 */
export const defaultModelResolver: AgentModelResolver = ({ env, tenantModel, tenantApiKey }) => {
  const apiKey = tenantApiKey ?? env.OPENAI_API_KEY;
  if (!apiKey) {
    return {
      chat: new OfflineDemoModel(),
      label: OFFLINE_MODEL_ID,
      offline: true,
      transcription: null,
      transcriptionLabel: null,
      vision: false,
    };
  }
  // A tenant's own key is an OpenAI key: it must never be sent to the deployment's
  // OPENAI_BASE_URL, which may be some other (self-hosted or third-party) server.
  const baseURL = tenantApiKey ? undefined : env.OPENAI_BASE_URL;
  const provider = createOpenAI({ apiKey, ...(baseURL ? { baseURL } : {}) });
  const modelId = tenantModel ?? env.OPENAI_MODEL;
  const host = baseURL ? new URL(baseURL).host : null;
  return {
    chat: provider.chat(modelId),
    label: host ? `openai-compatible(${host}):${modelId}` : `openai:${modelId}`,
    offline: false,
    transcription: provider.transcription('whisper-1'),
    transcriptionLabel: 'whisper-1',
    vision: true,
  };
};
