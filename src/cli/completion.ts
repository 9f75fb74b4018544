// `imprint completion bash|zsh`: shell completion generated from the command tree itself (commander), so
// every command, subcommand and option is completed without a list kept by hand. zsh reuses the bash
// function through bashcompinit.
import type { Command } from 'commander';
import { CliError } from './cli-errors.ts';

/** "path of subcommand names" → the words that may follow it (subcommands and options). */
export function completionTable(program: Command): Map<string, string[]> {
  const table = new Map<string, string[]>();
  const walk = (cmd: Command, path: string) => {
    const words = [
      ...cmd.commands.map((c) => c.name()),
      ...cmd.options.flatMap((o) => [o.long, o.short].filter((f): f is string => Boolean(f))),
      '--help',
    ];
    table.set(path, words);
    for (const sub of cmd.commands) walk(sub, path ? `${path} ${sub.name()}` : sub.name());
  };
  walk(program, '');
  return table;
}

export function bashCompletion(program: Command): string {
  const name = program.name();
  const fn = `_${name.replace(/[^A-Za-z0-9_]/g, '_')}_complete`;
  const cases = [...completionTable(program)].map(([path, words]) => `    "${path}") words="${words.join(' ')}" ;;`).join('\n');
  return `# ${name} completion (bash). Load: source <(${name} completion bash)
${fn}() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" path="" words next i
  for ((i = 1; i < COMP_CWORD; i++)); do
    next="\${path:+$path }\${COMP_WORDS[i]}"
    case "$next" in
${[...completionTable(program).keys()]
  .filter(Boolean)
  .map((p) => `      "${p}") path="$next" ;;`)
  .join('\n')}
    esac
  done
  case "$path" in
${cases}
    *) words="" ;;
  esac
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -o default -F ${fn} ${name}
`;
}

export function zshCompletion(program: Command): string {
  return `#compdef ${program.name()}
# ${program.name()} completion (zsh). Load: source <(${program.name()} completion zsh)
autoload -U +X bashcompinit && bashcompinit
${bashCompletion(program)}`;
}

export function registerCompletionCommand(program: Command): void {
  program
    .command('completion <shell>')
    .description('print a shell completion script: bash or zsh (e.g. source <(imprint completion bash))')
    .action((shell: string) => {
      if (shell === 'bash') process.stdout.write(bashCompletion(program));
      else if (shell === 'zsh') process.stdout.write(zshCompletion(program));
      else {
        throw new CliError('BAD_USAGE', `unknown shell "${shell}": bash or zsh`);
      }
    });
}
