/**
 * Parser/evaluator for QStash's `Upstash-Retry-Delay` expressions (milliseconds, variable
 * `retried`), e.g. `pow(2, retried) * 1000` or `max(1000, 500 * (retried + 1))`.
 *
 * A hand-written recursive-descent parser instead of eval/new Function: the expression comes
 * from an HTTP header, so it must never be able to run code.
 */

type Node =
  | { kind: 'number'; value: number }
  | { kind: 'retried' }
  | { kind: 'negate'; operand: Node }
  | { kind: 'binary'; operator: BinaryOperator; left: Node; right: Node }
  | { kind: 'call'; name: FunctionName; args: Node[] };

type BinaryOperator = '+' | '-' | '*' | '/';
type FunctionName = keyof typeof FUNCTIONS;

// The set QStash documents for retry delays.
const FUNCTIONS = {
  pow: { arity: 2, apply: (a: number[]) => a[0]! ** a[1]! },
  sqrt: { arity: 1, apply: (a: number[]) => Math.sqrt(a[0]!) },
  abs: { arity: 1, apply: (a: number[]) => Math.abs(a[0]!) },
  exp: { arity: 1, apply: (a: number[]) => Math.exp(a[0]!) },
  floor: { arity: 1, apply: (a: number[]) => Math.floor(a[0]!) },
  ceil: { arity: 1, apply: (a: number[]) => Math.ceil(a[0]!) },
  round: { arity: 1, apply: (a: number[]) => Math.round(a[0]!) },
  min: { arity: 'variadic', apply: (a: number[]) => Math.min(...a) },
  max: { arity: 'variadic', apply: (a: number[]) => Math.max(...a) },
} as const;

const MAX_EXPRESSION_LENGTH = 256;

export interface RetryDelayExpression {
  source: string;
  /** Delay in ms before the next attempt, given how many retries were already made. */
  evaluate(retried: number): number;
}

/** Parses an expression, or throws an Error whose message suits a 400 response. */
export function parseRetryDelay(source: string): RetryDelayExpression {
  if (source.length > MAX_EXPRESSION_LENGTH) {
    throw new Error(`retry delay expression longer than ${MAX_EXPRESSION_LENGTH} characters`);
  }
  const tokens = tokenize(source);
  let position = 0;
  const peek = () => tokens[position];
  const take = () => tokens[position++];
  const expect = (token: string) => {
    if (take() !== token) throw new Error(`expected '${token}' in retry delay "${source}"`);
  };

  /** Operands joined by any of `operators`, left to right (`a - b - c` is `(a - b) - c`). */
  const parseChain = (operators: readonly BinaryOperator[], parseOperand: () => Node): Node => {
    const nextOperator = () => operators.find((operator) => operator === peek());
    let node = parseOperand();
    for (let operator = nextOperator(); operator; operator = nextOperator()) {
      take();
      node = { kind: 'binary', operator, left: node, right: parseOperand() };
    }
    return node;
  };
  const parseSum = (): Node => parseChain(['+', '-'], parseProduct);
  const parseProduct = (): Node => parseChain(['*', '/'], parseUnary);
  const parseUnary = (): Node => {
    if (peek() === '-') {
      take();
      return { kind: 'negate', operand: parseUnary() };
    }
    if (peek() === '+') take();
    return parsePrimary();
  };
  const parsePrimary = (): Node => {
    const token = take();
    if (token === undefined) throw new Error(`retry delay "${source}" ends unexpectedly`);
    if (token === '(') {
      const inner = parseSum();
      expect(')');
      return inner;
    }
    if (/^\d/.test(token)) return { kind: 'number', value: Number(token) };
    if (token === 'retried') return { kind: 'retried' };
    if (Object.hasOwn(FUNCTIONS, token)) {
      const name = token as FunctionName;
      expect('(');
      const args = [parseSum()];
      while (peek() === ',') {
        take();
        args.push(parseSum());
      }
      expect(')');
      const { arity } = FUNCTIONS[name];
      if (arity !== 'variadic' && args.length !== arity) {
        throw new Error(`${name}() takes ${arity} argument(s) in retry delay "${source}"`);
      }
      return { kind: 'call', name, args };
    }
    throw new Error(`unexpected '${token}' in retry delay "${source}"`);
  };

  const root = parseSum();
  if (position !== tokens.length) {
    throw new Error(`unexpected '${tokens[position]}' in retry delay "${source}"`);
  }
  return { source, evaluate: (retried) => evaluate(root, retried) };
}

function tokenize(source: string): string[] {
  const tokens: string[] = [];
  const pattern = /\s*(\d+(?:\.\d+)?|[A-Za-z_]+|[-+*/(),])\s*/y;
  while (pattern.lastIndex < source.length) {
    const start = pattern.lastIndex;
    const match = pattern.exec(source);
    if (!match) throw new Error(`invalid character at ${start} in retry delay "${source}"`);
    tokens.push(match[1]!);
  }
  if (tokens.length === 0) throw new Error('empty retry delay expression');
  return tokens;
}

function evaluate(node: Node, retried: number): number {
  switch (node.kind) {
    case 'number':
      return node.value;
    case 'retried':
      return retried;
    case 'negate':
      return -evaluate(node.operand, retried);
    case 'call':
      return FUNCTIONS[node.name].apply(node.args.map((arg) => evaluate(arg, retried)));
    case 'binary': {
      const left = evaluate(node.left, retried);
      const right = evaluate(node.right, retried);
      if (node.operator === '+') return left + right;
      if (node.operator === '-') return left - right;
      if (node.operator === '*') return left * right;
      return left / right;
    }
  }
}
