#!/usr/bin/env python3
"""Drives Konnect's ai-proxy with the official OpenAI and Anthropic Python SDKs.

Konnect must be running at --base with these routes in front of the mock provider of
MockAIProvider.swift (see AISDKTests.swift, which starts them and runs this script):

- /openai:    ai-proxy, provider openai, model gpt-4o-mini
- /anthropic: ai-proxy, provider anthropic, model claude-sonnet-4-5
- /gemini:    ai-gateway, model gemini-3-flash-preview at provider gemini (MockGemini.swift)
- /ollama:    ai-gateway, model llama3.2:3b at provider ollama (MockOllama.swift)
- /cohere:    ai-gateway, model command-a-03-2025 at provider cohere (MockCohere.swift)
- /bedrock:   ai-gateway, model anthropic.claude-3-5-haiku-20241022-v1:0 at provider bedrock,
              signed with SigV4 (MockBedrock.swift), and the embedding models
              amazon.titan-embed-text-v2:0 and cohere.embed-english-v3 there
- /azure:     ai-gateway, model gpt-4o at provider azure, deployment konnect-gpt-4o (MockAzure.swift)
- /mistral:   ai-gateway, model mistral-large-latest at provider mistral (MockMistral.swift)
- /fallback:  ai-gateway, model chat-default: an openai deployment that always fails (503), then an
              anthropic one; its checks (groups openai@fallback, anthropic@fallback) see the answer
              come from the second

The OpenAI SDK talks to f"{base}/{route}/v1" (chat completions), the Anthropic SDK to
f"{base}/{route}" (Messages, on .../v1/messages), so every check runs for each SDK against each
provider. A check is named "<sdk>@<route>:<what>", e.g. "openai@anthropic:tools-stream" is the
OpenAI SDK against the route whose provider is Anthropic.

    python sdk_checks.py --base http://127.0.0.1:8000 --check all
    python sdk_checks.py --base ... --check openai@anthropic           # every check of a group
    python sdk_checks.py --base ... --check anthropic@openai:chat,openai@openai:chat
    python sdk_checks.py --list

The mock answers "Echo: <text>" to the last user message, counts one prompt token per word of
every message (system prompt included) and one output token per word answered, and obeys the
commands "fail <status>", "midstream error", "weather" and "two calls" (with tools).
Prints "ok NAME" for each check that passes, "FAIL NAME" with the reason for each that does not,
and exits 1 if any failed.
"""

import argparse
import json
import math
import sys
import traceback
import warnings

import anthropic
import openai

# The SDKs warn about retired model names; these are the mock's.
warnings.filterwarnings("ignore", category=DeprecationWarning)

BASE = ""
MODELS = {
    "openai": "gpt-4o-mini",
    "anthropic": "claude-sonnet-4-5",
    "gemini": "gemini-3-flash-preview",
    "ollama": "llama3.2:3b",
    "cohere": "command-a-03-2025",
    "bedrock": "anthropic.claude-3-5-haiku-20241022-v1:0",
    "azure": "gpt-4o",
    "mistral": "mistral-large-latest",
}
ROUTES = tuple(MODELS)
# Models a route serves besides MODELS[route], for embeddings: Bedrock's body format depends on
# the model (Titan's, Cohere's), and its chat model embeds nothing.
EMBEDDING_MODELS = {"bedrock": ["amazon.titan-embed-text-v2:0", "cohere.embed-english-v3"]}
# Providers whose 429 says how long to wait: OpenAI, Anthropic and Azure in a retry-after header,
# Gemini in a RetryInfo detail (retryDelay "1s") that Konnect turns into one. Ollama, Cohere,
# Bedrock (ThrottlingException) and Mistral give no wait, so their rate-limit checks do not look
# for one.
RETRY_AFTER_ROUTES = {"openai", "anthropic", "gemini", "azure"}
# Providers that take all the results of one turn's tool calls in one message (Anthropic's user
# message of tool_result blocks, Gemini's user turn of functionResponse parts, Bedrock's user
# message of toolResult blocks): their mocks echo all of them; the others (one tool message per
# result) echo the last.
JOINED_TOOL_RESULTS = {"anthropic", "gemini", "bedrock"}
CLIENT_KEY = "konnect-client-key"  # Konnect puts the configured provider key in its place.

SYSTEM = "Be brief"  # 2 words
HELLO = "hello there"  # 2 words
ECHO = "Echo: hello there"  # 3 words
PROMPT_TOKENS = 4
OUTPUT_TOKENS = 3

OPENAI_TOOLS = [{
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The current weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string", "description": "The city's name."}},
            "required": ["city"],
        },
    },
}]
ANTHROPIC_TOOLS = [{
    "name": "get_weather",
    "description": "The current weather in a city.",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string", "description": "The city's name."}},
        "required": ["city"],
    },
}]


def expect(condition, message):
    if not condition:
        raise AssertionError(message)


def expect_equal(actual, expected, what):
    expect(actual == expected, f"{what}: expected {expected!r}, got {actual!r}")


def openai_client(route):
    return openai.OpenAI(api_key=CLIENT_KEY, base_url=f"{BASE}/{route}/v1", max_retries=0, timeout=60)


def anthropic_client(route):
    return anthropic.Anthropic(api_key=CLIENT_KEY, base_url=f"{BASE}/{route}", max_retries=0, timeout=60)


def raises(error_class, call):
    """Runs `call`, expecting `error_class`; returns the error."""
    try:
        result = call()
    except error_class as error:
        return error
    except Exception as error:  # noqa: BLE001 - reported as the wrong error
        raise AssertionError(f"expected {error_class.__module__}.{error_class.__name__}, got "
                             f"{type(error).__module__}.{type(error).__name__}: {error}") from error
    raise AssertionError(f"expected {error_class.__module__}.{error_class.__name__}, got an answer: {result!r}")


def user(text):
    return {"role": "user", "content": text}


# MARK: OpenAI SDK


def openai_chat(route):
    client = openai_client(route)
    completion = client.chat.completions.create(
        model=MODELS[route], messages=[{"role": "system", "content": SYSTEM}, user(HELLO)])
    expect_equal(len(completion.choices), 1, "number of choices")
    choice = completion.choices[0]
    expect_equal(choice.message.role, "assistant", "message role")
    expect_equal(choice.message.content, ECHO, "message content")
    expect_equal(choice.finish_reason, "stop", "finish_reason")
    expect(completion.id, f"completion id is empty: {completion!r}")
    expect(completion.usage is not None, f"no usage in {completion!r}")
    expect_equal(completion.usage.prompt_tokens, PROMPT_TOKENS, "usage.prompt_tokens")
    expect_equal(completion.usage.completion_tokens, OUTPUT_TOKENS, "usage.completion_tokens")
    expect_equal(completion.usage.total_tokens, PROMPT_TOKENS + OUTPUT_TOKENS, "usage.total_tokens")


def openai_stream_usage(route):
    client = openai_client(route)
    stream = client.chat.completions.create(
        model=MODELS[route], messages=[{"role": "system", "content": SYSTEM}, user(HELLO)],
        stream=True, stream_options={"include_usage": True})
    chunks = list(stream)
    expect(chunks, "the stream had no chunks")
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    expect_equal(text, ECHO, "joined content deltas")
    finish = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    expect_equal(finish, ["stop"], "finish_reason of the chunks")
    usage_chunks = [c for c in chunks if c.usage is not None]
    expect_equal(len(usage_chunks), 1, "number of chunks with usage")
    last = chunks[-1]
    expect(last is usage_chunks[0], f"the usage chunk is not the last one: {[c.model_dump() for c in chunks[-3:]]}")
    expect_equal(last.choices, [], "choices of the usage chunk")
    expect_equal(last.usage.prompt_tokens, PROMPT_TOKENS, "usage.prompt_tokens")
    expect_equal(last.usage.completion_tokens, OUTPUT_TOKENS, "usage.completion_tokens")
    expect_equal(last.usage.total_tokens, PROMPT_TOKENS + OUTPUT_TOKENS, "usage.total_tokens")


def openai_stream(route):
    client = openai_client(route)
    stream = client.chat.completions.create(model=MODELS[route], messages=[user(HELLO)], stream=True)
    chunks = list(stream)
    expect(chunks, "the stream had no chunks")
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    expect_equal(text, ECHO, "joined content deltas")
    with_usage = [c.model_dump() for c in chunks if c.usage is not None]
    expect_equal(with_usage, [], "chunks with usage (include_usage was not asked for)")
    expect(all(c.choices for c in chunks), "a chunk without choices, though include_usage was not asked for")
    expect_equal(chunks[-1].choices[0].finish_reason, "stop", "finish_reason of the last chunk")


def openai_tool_call_round_trip(route):
    client = openai_client(route)
    messages = [user("weather")]
    completion = client.chat.completions.create(model=MODELS[route], messages=messages, tools=OPENAI_TOOLS)
    choice = completion.choices[0]
    expect_equal(choice.finish_reason, "tool_calls", "finish_reason")
    calls = choice.message.tool_calls or []
    expect_equal(len(calls), 1, "number of tool calls")
    call = calls[0]
    expect_equal(call.type, "function", "tool call type")
    expect_equal(call.function.name, "get_weather", "tool call name")
    expect(call.id, f"tool call id is empty: {call!r}")
    expect_equal(json.loads(call.function.arguments), {"city": "Paris"}, "tool call arguments")
    # The tool's result goes back; the provider must see the call and its result tied by the id.
    messages.append({
        "role": "assistant", "content": choice.message.content,
        "tool_calls": [{"id": call.id, "type": "function",
                        "function": {"name": call.function.name, "arguments": call.function.arguments}}],
    })
    messages.append({"role": "tool", "tool_call_id": call.id, "content": "sunny"})
    follow_up = client.chat.completions.create(model=MODELS[route], messages=messages, tools=OPENAI_TOOLS)
    expect_equal(follow_up.choices[0].message.content, "Echo: sunny", "answer to the tool result")
    expect_equal(follow_up.choices[0].finish_reason, "stop", "finish_reason of the answer to the tool result")


def parallel_answer(route, results):
    """The mock's answer to the results of two parallel calls: OpenAI's mock echoes the last tool
    message (so do Ollama's and Cohere's); Anthropic's, the one user message that carries both
    tool_result blocks (so do Gemini's and Bedrock's, of their one turn of results)."""
    return "Echo: " + (" ".join(results) if route in JOINED_TOOL_RESULTS else results[-1])


def openai_parallel_tools(route):
    client = openai_client(route)
    messages = [user("two calls")]
    completion = client.chat.completions.create(model=MODELS[route], messages=messages, tools=OPENAI_TOOLS)
    calls = completion.choices[0].message.tool_calls or []
    expect_equal([json.loads(call.function.arguments) for call in calls], [{"city": "Paris"}, {"city": "Rome"}],
                 "arguments of the tool calls")
    expect(calls[0].id and calls[1].id and calls[0].id != calls[1].id, f"tool call ids: {calls!r}")
    messages.append({"role": "assistant", "content": completion.choices[0].message.content,
                     "tool_calls": [call.model_dump(exclude_none=True) for call in calls]})
    results = ["Paris sunny", "Rome rainy"]
    for call, result in zip(calls, results):
        messages.append({"role": "tool", "tool_call_id": call.id, "content": [{"type": "text", "text": result}]})
    follow_up = client.chat.completions.create(model=MODELS[route], messages=messages, tools=OPENAI_TOOLS)
    expect_equal(follow_up.choices[0].message.content, parallel_answer(route, results), "answer to the tool results")


def openai_streamed_calls(route, command):
    client = openai_client(route)
    stream = client.chat.completions.create(model=MODELS[route], messages=[user(command)], tools=OPENAI_TOOLS,
                                            stream=True)
    calls = {}
    finish = []
    for chunk in stream:
        for choice in chunk.choices:
            if choice.finish_reason:
                finish.append(choice.finish_reason)
            for delta in choice.delta.tool_calls or []:
                entry = calls.setdefault(delta.index, {"id": "", "name": "", "arguments": ""})
                if delta.id:
                    expect(not entry["id"], f"tool call {delta.index} got a second id {delta.id!r}")
                    entry["id"] = delta.id
                if delta.function and delta.function.name:
                    entry["name"] += delta.function.name
                if delta.function and delta.function.arguments:
                    entry["arguments"] += delta.function.arguments
    expect_equal(finish, ["tool_calls"], "finish_reason of the chunks")
    return calls


def openai_tools_stream(route):
    calls = openai_streamed_calls(route, "weather")
    expect_equal(sorted(calls), [0], "tool call indices")
    expect_equal(calls[0]["name"], "get_weather", "tool call name")
    expect(calls[0]["id"], f"tool call id is empty: {calls[0]!r}")
    expect_equal(json.loads(calls[0]["arguments"]), {"city": "Paris"}, "tool call arguments")


def openai_two_calls_stream(route):
    calls = openai_streamed_calls(route, "two calls")
    expect_equal(sorted(calls), [0, 1], "tool call indices")
    for index, city in ((0, "Paris"), (1, "Rome")):
        expect_equal(calls[index]["name"], "get_weather", f"tool call {index} name")
        expect(calls[index]["id"], f"tool call {index} id is empty: {calls[index]!r}")
        expect_equal(json.loads(calls[index]["arguments"]), {"city": city}, f"tool call {index} arguments")
    expect(calls[0]["id"] != calls[1]["id"], f"both tool calls have the id {calls[0]['id']!r}")


def openai_fail(route, status, error_class, expected_status):
    client = openai_client(route)
    error = raises(error_class, lambda: client.chat.completions.create(
        model=MODELS[route], messages=[user(f"fail {status}")]))
    expect_equal(error.status_code, expected_status, "status")
    if status == 429 and route in RETRY_AFTER_ROUTES:
        expect_equal(error.response.headers.get("retry-after"), "1", "the provider's retry-after")
    expect(isinstance(error.body, dict) and error.body.get("message"),
           f"the error body has no message: {error.body!r}")


def openai_invalid(route):
    client = openai_client(route)
    error = raises(openai.BadRequestError, lambda: client.chat.completions.create(
        model=MODELS[route], messages=[{"role": "bogus", "content": "hi"}]))
    expect_equal(error.status_code, 400, "status")
    expect(isinstance(error.body, dict), f"the error body is not an object: {error.body!r}")
    expect_equal(error.body.get("param"), "messages[0].role", "error param")


def openai_midstream_error(route):
    client = openai_client(route)
    stream = client.chat.completions.create(model=MODELS[route], messages=[user("midstream error")], stream=True)
    text = []

    def read():
        for chunk in stream:
            if chunk.choices:
                text.append(chunk.choices[0].delta.content or "")
        return "".join(text)

    error = raises(openai.APIError, read)
    expect("".join(text).startswith("Echo:"), f"no text came before the error: {''.join(text)!r}")
    expect(not isinstance(error, openai.APIConnectionError),
           f"the stream broke off instead of reporting the provider's error: {error!r}")


def openai_wrong_model(route):
    client = openai_client(route)
    error = raises(openai.BadRequestError, lambda: client.chat.completions.create(
        model="some-other-model", messages=[user(HELLO)]))
    expect_equal(error.status_code, 400, "status")
    expect(isinstance(error.body, dict), f"the error body is not an object: {error.body!r}")
    expect_equal(error.body.get("param"), "model", "error param")
    expect("model" in (error.body.get("message") or ""), f"the message does not name the model: {error.body!r}")


# MARK: Anthropic SDK


def anthropic_chat(route):
    client = anthropic_client(route)
    message = client.messages.create(model=MODELS[route], max_tokens=100, system=SYSTEM, messages=[user(HELLO)])
    expect_equal(message.role, "assistant", "message role")
    expect_equal([block.type for block in message.content], ["text"], "content block types")
    expect_equal(message.content[0].text, ECHO, "text")
    expect_equal(message.stop_reason, "end_turn", "stop_reason")
    expect(message.id, f"message id is empty: {message!r}")
    expect_equal(message.usage.input_tokens, PROMPT_TOKENS, "usage.input_tokens")
    expect_equal(message.usage.output_tokens, OUTPUT_TOKENS, "usage.output_tokens")


def anthropic_stream(route):
    client = anthropic_client(route)
    with client.messages.stream(model=MODELS[route], max_tokens=100, system=SYSTEM, messages=[user(HELLO)]) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    expect_equal(text, ECHO, "joined text deltas")
    expect_equal([block.type for block in final.content], ["text"], "content block types of the final message")
    expect_equal(final.content[0].text, ECHO, "text of the final message")
    expect_equal(final.stop_reason, "end_turn", "stop_reason of the final message")
    expect_equal(final.usage.output_tokens, OUTPUT_TOKENS, "usage.output_tokens of the final message")
    expect_equal(final.usage.input_tokens, PROMPT_TOKENS, "usage.input_tokens of the final message")


def anthropic_tool_use_round_trip(route):
    client = anthropic_client(route)
    messages = [user("weather")]
    message = client.messages.create(model=MODELS[route], max_tokens=100, messages=messages, tools=ANTHROPIC_TOOLS)
    expect_equal(message.stop_reason, "tool_use", "stop_reason")
    uses = [block for block in message.content if block.type == "tool_use"]
    expect_equal(len(uses), 1, f"number of tool_use blocks in {message.content!r}")
    use = uses[0]
    expect_equal(use.name, "get_weather", "tool_use name")
    expect(use.id, f"tool_use id is empty: {use!r}")
    expect_equal(use.input, {"city": "Paris"}, "tool_use input")
    # The tool's result goes back, as text blocks; the provider must see the call and its result
    # tied by the id.
    messages.append({"role": "assistant", "content": message.content})
    messages.append({"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": use.id, "content": [{"type": "text", "text": "sunny"}]},
    ]})
    follow_up = client.messages.create(model=MODELS[route], max_tokens=100, messages=messages, tools=ANTHROPIC_TOOLS)
    expect_equal([block.type for block in follow_up.content], ["text"], "content block types of the answer")
    expect_equal(follow_up.content[0].text, "Echo: sunny", "answer to the tool result")
    expect_equal(follow_up.stop_reason, "end_turn", "stop_reason of the answer to the tool result")


def anthropic_parallel_tools(route):
    client = anthropic_client(route)
    messages = [user("two calls")]
    message = client.messages.create(model=MODELS[route], max_tokens=100, messages=messages, tools=ANTHROPIC_TOOLS)
    uses = [block for block in message.content if block.type == "tool_use"]
    expect_equal([use.input for use in uses], [{"city": "Paris"}, {"city": "Rome"}], "inputs of the tool_use blocks")
    expect(uses[0].id and uses[1].id and uses[0].id != uses[1].id, f"tool_use ids: {uses!r}")
    messages.append({"role": "assistant", "content": message.content})
    results = ["Paris sunny", "Rome rainy"]
    messages.append({"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": use.id, "content": result} for use, result in zip(uses, results)]})
    follow_up = client.messages.create(model=MODELS[route], max_tokens=100, messages=messages, tools=ANTHROPIC_TOOLS)
    expect_equal([block.type for block in follow_up.content], ["text"], "content block types of the answer")
    expect_equal(follow_up.content[0].text, parallel_answer(route, results), "answer to the tool results")


def anthropic_streamed_uses(route, command):
    client = anthropic_client(route)
    with client.messages.stream(model=MODELS[route], max_tokens=100, messages=[user(command)],
                                tools=ANTHROPIC_TOOLS) as stream:
        final = stream.get_final_message()
    expect_equal(final.stop_reason, "tool_use", "stop_reason of the final message")
    uses = [block for block in final.content if block.type == "tool_use"]
    for use in uses:
        expect_equal(use.name, "get_weather", "tool_use name")
        expect(use.id, f"tool_use id is empty: {use!r}")
    return uses


def anthropic_tools_stream(route):
    uses = anthropic_streamed_uses(route, "weather")
    expect_equal([use.input for use in uses], [{"city": "Paris"}], "inputs of the tool_use blocks")


def anthropic_two_calls_stream(route):
    uses = anthropic_streamed_uses(route, "two calls")
    expect_equal([use.input for use in uses], [{"city": "Paris"}, {"city": "Rome"}], "inputs of the tool_use blocks")
    expect(uses[0].id != uses[1].id, f"both tool_use blocks have the id {uses[0].id!r}")


def anthropic_fail(route, status, error_classes, expected_status):
    client = anthropic_client(route)
    error = raises(error_classes[0], lambda: client.messages.create(
        model=MODELS[route], max_tokens=100, messages=[user(f"fail {status}")]))
    expect(isinstance(error, error_classes), f"expected one of {error_classes}, got {type(error)}: {error}")
    expect_equal(error.status_code, expected_status, "status")
    if status == 429 and route in RETRY_AFTER_ROUTES:
        expect_equal(error.response.headers.get("retry-after"), "1", "the provider's retry-after")
    expect(isinstance(error.body, dict) and error.body.get("type") == "error",
           f"the error body is not Anthropic's error shape: {error.body!r}")


def anthropic_invalid(route):
    client = anthropic_client(route)
    error = raises(anthropic.BadRequestError, lambda: client.messages.create(
        model=MODELS[route], max_tokens=0, messages=[user(HELLO)]))
    expect_equal(error.status_code, 400, "status")
    expect("max_tokens" in str(error.body), f"the error does not name max_tokens: {error.body!r}")


def anthropic_midstream_error(route):
    client = anthropic_client(route)
    text = []

    def read():
        with client.messages.stream(model=MODELS[route], max_tokens=100, messages=[user("midstream error")]) as stream:
            for piece in stream.text_stream:
                text.append(piece)
            return stream.get_final_message()

    error = raises(anthropic.APIError, read)
    expect("".join(text).startswith("Echo:"), f"no text came before the error: {''.join(text)!r}")
    expect(not isinstance(error, anthropic.APIConnectionError),
           f"the stream broke off instead of reporting the provider's error: {error!r}")


def anthropic_wrong_model(route):
    client = anthropic_client(route)
    error = raises(anthropic.BadRequestError, lambda: client.messages.create(
        model="some-other-model", max_tokens=100, messages=[user(HELLO)]))
    expect_equal(error.status_code, 400, "status")
    expect(isinstance(error.body, dict) and error.body.get("type") == "error",
           f"the error body is not Anthropic's error shape: {error.body!r}")
    expect("model" in str(error.body.get("error", {}).get("message", "")),
           f"the message does not name the model: {error.body!r}")


def openai_models(route):
    models = [model.id for model in openai_client(route).models.list()]
    expect_equal(models, [MODELS[route]] + EMBEDDING_MODELS.get(route, []), "listed models")


def expect_vectors(actual, expected, what):
    """Float32 vectors (base64 on the wire) against float64 ones."""
    close = len(actual) == len(expected) and all(
        len(a) == len(e) and all(math.isclose(x, y, rel_tol=1e-6) for x, y in zip(a, e)) for a, e in zip(actual, expected))
    expect(close, f"{what}: expected {expected!r}, got {actual!r}")


def normalized(vector):
    norm = math.sqrt(sum(x * x for x in vector))
    return [x / norm for x in vector]


def openai_embeddings(route):
    client = openai_client(route)
    if route == "anthropic":
        # Anthropic has no embeddings API: Konnect refuses, naming the model.
        error = raises(openai.BadRequestError, lambda: client.embeddings.create(model=MODELS[route], input="hello"))
        expect_equal(error.body.get("param") if isinstance(error.body, dict) else None, "model", "the field named")
        return
    if route == "ollama":
        # Ollama's /api/embed: the mock's vector [words, characters, 0.5], normalized to length 1
        # as Ollama normalizes its embeddings.
        result = client.embeddings.create(model=MODELS[route], input=["hello there", "hi"])
        expect_vectors([item.embedding for item in result.data],
                       [normalized([2.0, 11.0, 0.5]), normalized([1.0, 2.0, 0.5])], "embeddings")
        expect_equal(result.usage.prompt_tokens, 3, "prompt tokens")
        floats = client.embeddings.create(model=MODELS[route], input="hello there", encoding_format="float")
        expect_vectors([floats.data[0].embedding], [normalized([2.0, 11.0, 0.5])], "float embeddings")
        return
    if route == "bedrock":
        bedrock_embeddings(client)
        return
    # The SDK asks for base64 by default and decodes it; the mock's vector is [words, characters, 0.5].
    raw = client.embeddings.with_raw_response.create(model=MODELS[route], input=["hello there", "hi"])
    result = raw.parse()
    expect_equal([item.embedding for item in result.data], [[2.0, 11.0, 0.5], [1.0, 2.0, 0.5]], "embeddings")
    if route == "gemini":
        # Gemini counts no tokens for embeddings: Konnect estimates them, and says so.
        expect_estimated(result, raw.headers)
    else:
        # The provider's own count: one token a word.
        expect_equal(result.usage.prompt_tokens, 3, "prompt tokens")
    floats = client.embeddings.create(model=MODELS[route], input="hello there", encoding_format="float")
    expect_equal(floats.data[0].embedding, [2.0, 11.0, 0.5], "float embeddings")


def expect_estimated(result, headers):
    """Usage Konnect estimated: present and positive, and marked in X-Konnect-AI-Tokens."""
    expect(result.usage is not None and result.usage.prompt_tokens > 0, f"no estimated usage: {result.usage!r}")
    tokens = headers.get("x-konnect-ai-tokens") or ""
    expect(tokens.endswith(", estimated"), f"X-Konnect-AI-Tokens does not say estimated: {tokens!r}")


def bedrock_embeddings(client):
    """Bedrock's InvokeModel, in each embedding model's own format (the route's chat model embeds nothing)."""
    titan, cohere = EMBEDDING_MODELS["bedrock"]
    # Cohere Embed: several texts a call; Bedrock counts their tokens in a header Konnect does not read.
    raw = client.embeddings.with_raw_response.create(model=cohere, input=["hello there", "hi"])
    result = raw.parse()
    expect_equal([item.embedding for item in result.data], [[2.0, 11.0, 0.5], [1.0, 2.0, 0.5]], "cohere embeddings")
    expect_estimated(result, raw.headers)
    # Titan: one text a call, with its token count.
    result = client.embeddings.create(model=titan, input="hello there", encoding_format="float", dimensions=256)
    expect_equal([item.embedding for item in result.data], [[2.0, 11.0, 0.5]], "titan embeddings")
    expect_equal(result.usage.prompt_tokens, 2, "titan prompt tokens")
    # Several texts for Titan: one call each, answered as one, tokens added up.
    result = client.embeddings.create(model=titan, input=["hello there", "hi"])
    expect_equal([item.embedding for item in result.data], [[2.0, 11.0, 0.5], [1.0, 2.0, 0.5]], "titan embeddings of two texts")
    expect_equal(result.usage.prompt_tokens, 3, "titan prompt tokens of two texts")
    # Dimensions Cohere's v3 models cannot give are refused, naming the field.
    error = raises(openai.BadRequestError, lambda: client.embeddings.create(model=cohere, input="hi", dimensions=256))
    expect_equal(error.body.get("param") if isinstance(error.body, dict) else None, "dimensions", "the field named")
    # The chat model has no embeddings.
    error = raises(openai.BadRequestError, lambda: client.embeddings.create(model=MODELS["bedrock"], input="hello"))
    expect_equal(error.body.get("param") if isinstance(error.body, dict) else None, "model", "the field named")


def anthropic_models(route):
    models = [model.id for model in anthropic_client(route).models.list()]
    expect_equal(models, [MODELS[route]] + EMBEDDING_MODELS.get(route, []), "listed models")


# MARK: Fallback

FALLBACK_MODEL = "chat-default"


def expect_answered_by_anthropic(headers):
    """The headers of an answer of the fallback route: the second deployment (Anthropic) gave it."""
    expect_equal(headers.get("x-konnect-ai-provider"), "anthropic", "X-Konnect-AI-Provider")
    expect_equal(headers.get("x-konnect-ai-model"), MODELS["anthropic"], "X-Konnect-AI-Model")


def openai_fallback_chat():
    raw = openai_client("fallback").chat.completions.with_raw_response.create(
        model=FALLBACK_MODEL, messages=[{"role": "system", "content": SYSTEM}, user(HELLO)])
    expect_answered_by_anthropic(raw.headers)
    completion = raw.parse()
    expect_equal(completion.choices[0].message.content, ECHO, "message content")
    expect_equal(completion.choices[0].finish_reason, "stop", "finish_reason")
    expect_equal(completion.usage.prompt_tokens, PROMPT_TOKENS, "usage.prompt_tokens")


def openai_fallback_stream():
    raw = openai_client("fallback").chat.completions.with_raw_response.create(
        model=FALLBACK_MODEL, messages=[user(HELLO)], stream=True, stream_options={"include_usage": True})
    expect_answered_by_anthropic(raw.headers)
    chunks = list(raw.parse())
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    expect_equal(text, ECHO, "joined content deltas")
    expect_equal([c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason], ["stop"],
                 "finish_reason of the chunks")
    expect(chunks[-1].usage is not None, f"the last chunk has no usage: {chunks[-1].model_dump()}")


def anthropic_fallback_chat():
    raw = anthropic_client("fallback").messages.with_raw_response.create(
        model=FALLBACK_MODEL, max_tokens=100, system=SYSTEM, messages=[user(HELLO)])
    expect_answered_by_anthropic(raw.headers)
    message = raw.parse()
    expect_equal([block.type for block in message.content], ["text"], "content block types")
    expect_equal(message.content[0].text, ECHO, "text")
    expect_equal(message.stop_reason, "end_turn", "stop_reason")
    expect_equal(message.usage.input_tokens, PROMPT_TOKENS, "usage.input_tokens")


def anthropic_fallback_stream():
    raw = anthropic_client("fallback").messages.with_raw_response.create(
        model=FALLBACK_MODEL, max_tokens=100, messages=[user(HELLO)], stream=True)
    expect_answered_by_anthropic(raw.headers)
    events = list(raw.parse())
    text = "".join(event.delta.text for event in events
                   if event.type == "content_block_delta" and event.delta.type == "text_delta")
    expect_equal(text, ECHO, "joined text deltas")
    stops = [event.delta.stop_reason for event in events if event.type == "message_delta"]
    expect_equal(stops, ["end_turn"], "stop_reason of the message_delta events")
    expect_equal(events[-1].type, "message_stop", "the last event")


# MARK: The table


def make_checks():
    checks = {}

    def add(name, function, *arguments):
        def check():
            function(*arguments)
        check.__name__ = name
        checks[name] = check

    for route in ROUTES:
        group = f"openai@{route}"
        add(f"{group}:chat", openai_chat, route)
        add(f"{group}:stream-usage", openai_stream_usage, route)
        add(f"{group}:stream", openai_stream, route)
        add(f"{group}:tools", openai_tool_call_round_trip, route)
        add(f"{group}:parallel-tools", openai_parallel_tools, route)
        add(f"{group}:tools-stream", openai_tools_stream, route)
        add(f"{group}:two-calls-stream", openai_two_calls_stream, route)
        add(f"{group}:rate-limit", openai_fail, route, 429, openai.RateLimitError, 429)
        add(f"{group}:server-error", openai_fail, route, 500, openai.InternalServerError, 500)
        if route == "anthropic":
            # Anthropic's 529 (overloaded) is a 503 for OpenAI clients. The other providers have
            # no 529 (their overload is a 503, or Bedrock's ServiceUnavailableException).
            add(f"{group}:overloaded", openai_fail, route, 529, openai.InternalServerError, 503)
        add(f"{group}:invalid", openai_invalid, route)
        add(f"{group}:midstream-error", openai_midstream_error, route)
        add(f"{group}:wrong-model", openai_wrong_model, route)
        add(f"{group}:models", openai_models, route)
        # Where the provider has no embeddings (through Konnect), the check expects the refusal.
        add(f"{group}:embeddings", openai_embeddings, route)

        group = f"anthropic@{route}"
        add(f"{group}:chat", anthropic_chat, route)
        add(f"{group}:stream", anthropic_stream, route)
        add(f"{group}:tools", anthropic_tool_use_round_trip, route)
        add(f"{group}:parallel-tools", anthropic_parallel_tools, route)
        add(f"{group}:tools-stream", anthropic_tools_stream, route)
        add(f"{group}:two-calls-stream", anthropic_two_calls_stream, route)
        add(f"{group}:rate-limit", anthropic_fail, route, 429, (anthropic.RateLimitError,), 429)
        add(f"{group}:server-error", anthropic_fail, route, 500, (anthropic.InternalServerError,), 500)
        if route == "anthropic":  # only Anthropic has a 529
            add(f"{group}:overloaded", anthropic_fail, route, 529,
                (anthropic.OverloadedError, anthropic.APIStatusError), 529)
        add(f"{group}:invalid", anthropic_invalid, route)
        add(f"{group}:midstream-error", anthropic_midstream_error, route)
        add(f"{group}:wrong-model", anthropic_wrong_model, route)
        add(f"{group}:models", anthropic_models, route)

    # A model whose first deployment always fails: each SDK gets the second one's answers.
    add("openai@fallback:chat", openai_fallback_chat)
    add("openai@fallback:stream", openai_fallback_stream)
    add("anthropic@fallback:chat", anthropic_fallback_chat)
    add("anthropic@fallback:stream", anthropic_fallback_stream)
    return checks


CHECKS = make_checks()


def select(spec):
    """The checks `spec` names: "all", or comma-separated names or groups ("openai@anthropic")."""
    if spec == "all":
        return list(CHECKS)
    names = []
    for part in (p.strip() for p in spec.split(",") if p.strip()):
        matching = [name for name in CHECKS if name == part or name.startswith(part + ":")]
        if not matching:
            raise SystemExit(f"no check named {part!r}; run with --list to see them")
        names += [name for name in matching if name not in names]
    return names


def main():
    global BASE
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", help="Konnect's proxy address, e.g. http://127.0.0.1:8000")
    parser.add_argument("--check", default="all", help="'all', a check, a group, or a comma-separated list")
    parser.add_argument("--list", action="store_true", help="list the checks and exit")
    arguments = parser.parse_args()
    if arguments.list:
        print("\n".join(CHECKS))
        return 0
    if not arguments.base:
        parser.error("--base is required")
    BASE = arguments.base.rstrip("/")
    print(f"openai {openai.__version__}, anthropic {anthropic.__version__}", flush=True)
    failed = []
    for name in select(arguments.check):
        try:
            CHECKS[name]()
        except Exception:  # noqa: BLE001 - every failure is reported, then the next check runs
            failed.append(name)
            print(f"FAIL {name}\n{traceback.format_exc()}", flush=True)
        else:
            print(f"ok {name}", flush=True)
    if failed:
        print(f"{len(failed)} failed: {', '.join(failed)}", flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
