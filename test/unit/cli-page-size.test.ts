import { Command } from 'commander';
import { CliError, pageSizeOf, withPageSize } from '../../workers/cli/common';

describe('--page-size, the API’s pageSize, on every CLI list', () => {
  const parse = (...args: string[]) => {
    const cmd = withPageSize(new Command('list').exitOverride(), 'at most this many');
    cmd.parse(args, { from: 'user' });
    return cmd.opts<{ pageSize?: string; limit?: string }>();
  };

  it('takes --page-size, defaults to 100, and still takes --limit, its old name, hidden from help', () => {
    expect(pageSizeOf(parse('--page-size', '25'), 500)).toBe(25);
    expect(pageSizeOf(parse(), 500)).toBe(100);
    expect(pageSizeOf(parse('--limit', '7'), 500)).toBe(7);
    const help = withPageSize(new Command('list'), 'at most this many').helpInformation();
    expect(help).toContain('--page-size <n>');
    expect(help).not.toContain('--limit');
  });

  it('refuses a size out of bounds or two different sizes, naming --page-size', () => {
    expect(() => pageSizeOf(parse('--page-size', '501'), 500)).toThrow(new CliError('--page-size must be a whole number from 1 to 500', 2));
    expect(() => pageSizeOf(parse('--page-size', 'x'), 500)).toThrow('--page-size must be a whole number');
    expect(() => pageSizeOf(parse('--page-size', '5', '--limit', '6'), 500)).toThrow('not both');
  });
});
