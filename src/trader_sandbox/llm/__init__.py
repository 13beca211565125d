"""An OpenAI-compatible Chat Completions emulator on loopback (``trader-app llm-sandbox``), stdlib only."""

from trader_sandbox.llm.server import LlmSandbox, load_script, start_llm_sandbox

__all__ = ["LlmSandbox", "load_script", "start_llm_sandbox"]
