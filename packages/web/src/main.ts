// Entry of the page (index.html loads it).
import './styles.css';
import { startApp } from './app.js';

startApp(document.getElementById('app')!);
