"""The LLM strategy (issue 15): a signal source over the OpenAI-compatible Chat Completions API."""
