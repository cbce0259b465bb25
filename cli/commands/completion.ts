// tidepool completion bash|zsh: a shell completion script, made from the program's own
// command and option tables (so it never goes stale); resource names are completed by
// asking the server (`tidepool get TYPE -o name`) at the moment you press tab.
import type { Command } from 'commander';
import { KINDS } from '../../specs/index.js';
import { CliError } from '../errors.js';
import { processIo } from '../context.js';

export function registerCompletion(program: Command): void {
  program
    .command('completion')
    .summary('print a shell completion script (bash or zsh)')
    .description(
      'Prints a completion script. Load it in the current shell:\n\n' +
        '  source <(tidepool completion bash)\n  source <(tidepool completion zsh)\n\n' +
        'or save it, e.g. tidepool completion bash > /etc/bash_completion.d/tidepool',
    )
    .argument('<SHELL>', 'bash or zsh')
    .action((shell: string) => {
      if (shell !== 'bash' && shell !== 'zsh') throw new CliError(`unsupported shell type "${shell}" (bash or zsh)`);
      processIo.out(completionScript(program, shell));
    });
}

export function completionScript(program: Command, shell: 'bash' | 'zsh'): string {
  const commands = program.commands.map((c) => c.name());
  const types = KINDS.flatMap((k) => [k.plural, k.singular, ...k.shortNames]).concat('all');
  const optionCases = program.commands
    .map(
      (c) =>
        `    ${c.name()}) opts="${[...c.options, ...program.options]
          .map((o) => o.long ?? o.short)
          .filter(Boolean)
          .join(' ')}" ;;`,
    )
    .join('\n');
  const bash = `# tidepool bash completion (tidepool completion bash)
_tidepool() {
  local cur prev cmd opts
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  cmd="\${COMP_WORDS[1]}"
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=( $(compgen -W "${commands.join(' ')}" -- "$cur") ); return
  fi
  case "$cmd" in
${optionCases}
    *) opts="" ;;
  esac
  if [[ "$cur" == -* ]]; then COMPREPLY=( $(compgen -W "$opts" -- "$cur") ); return; fi
  case "$prev" in
    -f|--filename|--patch-file|--data-dir) COMPREPLY=( $(compgen -f -- "$cur") ); return ;;
    -o|--output) COMPREPLY=( $(compgen -W "wide yaml json name jsonpath= custom-columns=" -- "$cur") ); return ;;
  esac
  case "$cmd" in
    get|describe|delete|edit|label|annotate|patch|wait|explain)
      if [ "$COMP_CWORD" -eq 2 ]; then COMPREPLY=( $(compgen -W "${types.join(' ')}" -- "$cur") ); return; fi
      local names; names=$(tidepool get "\${COMP_WORDS[2]}" -o name 2>/dev/null | sed 's|.*/||')
      COMPREPLY=( $(compgen -W "$names" -- "$cur") ) ;;
    start|stop|logs|exec|shell)
      local names; names=$(tidepool get workspaces -o name 2>/dev/null | sed 's|.*/||')
      COMPREPLY=( $(compgen -W "$names" -- "$cur") ) ;;
    completion) COMPREPLY=( $(compgen -W "bash zsh" -- "$cur") ) ;;
  esac
}
complete -o default -F _tidepool tidepool
`;
  if (shell === 'bash') return bash;
  // zsh runs the bash function through its bash-completion emulation, as kubectl's early zsh support did.
  return `#compdef tidepool
# tidepool zsh completion (tidepool completion zsh)
autoload -U +X bashcompinit && bashcompinit
${bash}`;
}
