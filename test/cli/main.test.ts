/** The CLI's command list: a command whose optional packages are missing stays listed and says why. */
import { describe, expect, it } from 'vitest';
import { buildProgram, type CommandSource } from '../../src/cli/main.js';
import { MissingPackageError } from '../../src/errors.js';

function missing(pkg: string): Error {
  return Object.assign(new Error(`Cannot find package '${pkg}' imported from /x/plot.js`), {
    code: 'ERR_MODULE_NOT_FOUND',
  });
}

const working: CommandSource = {
  name: 'hello',
  load: async () => (program) => {
    program.command('hello').action(() => {
      throw new RangeError('ran');
    });
  },
};

describe('buildProgram', () => {
  it('lists a command whose module needs a missing optional package, and running it names the package', async () => {
    const program = await buildProgram([
      working,
      {
        name: 'plot',
        load: () => Promise.reject(missing('vega')),
      },
    ]);
    expect(program.commands.map((c) => c.name())).toEqual(['hello', 'plot']);
    const plot = program.commands[1];
    expect(plot.description()).toContain("needs the package 'vega'");
    await expect(program.parseAsync(['node', 'faceverloss', 'plot', 'boundary', '--all'])).rejects.toThrow(
      MissingPackageError,
    );
    // The other commands still run.
    await expect(program.parseAsync(['node', 'faceverloss', 'hello'])).rejects.toThrow('ran');
  });

  it('any other failure to load a command is not hidden', async () => {
    const broken: CommandSource = {
      name: 'broken',
      load: () => Promise.reject(new SyntaxError('bad module')),
    };
    await expect(buildProgram([broken])).rejects.toThrow(SyntaxError);
  });

  it('the real command list loads every command with all packages installed', async () => {
    const program = await buildProgram();
    const names = program.commands.map((c) => c.name());
    expect(names).toEqual(expect.arrayContaining(['demo', 'eval', 'golden', 'plot', 'train', 'compare']));
    for (const command of program.commands) expect(command.description()).not.toContain('unavailable');
  });
});
