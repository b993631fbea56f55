-- Issue 20: which method scored each LLM answer ('logprobs', 'agreement' of samples, or
-- 'unscored'), and which method a field's calibrator was fitted on. The two kinds of raw
-- score mean different things (a token probability against a share of samples), so a
-- calibrator is fitted on one kind and applied to that kind only. NULL: recorded before
-- the method was (older rows), or not an LLM answer.
ALTER TABLE field_runs ADD COLUMN score_method TEXT;
ALTER TABLE llm_calibrations ADD COLUMN score_method TEXT;
